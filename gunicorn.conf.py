"""gunicorn reads this file from the working directory on its own (Procfile, `make run`).

Logs: with `LOG_FORMAT=json` (the default under the production settings, as in Django) gunicorn's
own error and access lines are JSON objects too (`buatfilm.logging.JsonFormatter`).

Metrics: it prepares Prometheus multiprocess mode, so `/metrics` adds up the counters of every
worker whichever one answers the scrape: `PROMETHEUS_MULTIPROC_DIR` must be set before any
worker imports `prometheus_client`. Unset, each gunicorn master gets its own folder under the
temp dir, removed when it stops. Set it (for example to a tmpfs path) to share the folder with a
Celery worker on the same host, so its Midtrans call timings are exported too. The folder's
sample files are deleted when gunicorn starts: counters restart at 0, which Prometheus' rate()
treats as a restart. Command-line options still win over anything here.

Garbage collection: each worker freezes what it loaded at start (`buatfilm.memory`), so a full
collection no longer pauses a request for tens of milliseconds.
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from buatfilm.gunicorn_logging import RedactingLogger
from buatfilm.memory import worker_ready

_own_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _own_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="buatfilm-metrics-")
_metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server: Any) -> None:
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)


def post_worker_init(worker: Any) -> None:
    """The worker has loaded the app: warm it up, and its objects leave the garbage
    collector's reach (`buatfilm.memory`)."""
    worker_ready()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))


def on_exit(server: Any) -> None:
    if _own_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


_settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "buatfilm.settings.production")
_default_format = "json" if _settings_module.endswith(".production") else "text"


class JsonLogger(RedactingLogger):
    """gunicorn's logger with every handler writing `buatfilm.logging.JsonFormatter` lines (and
    secrets redacted, as in every gunicorn log line)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from buatfilm.logging import JsonFormatter

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())


# Bearer secrets (`?key=`, `/login/<token>/`, secret headers) never reach gunicorn's logs.
logger_class: type[RedactingLogger] = RedactingLogger
if os.environ.get("LOG_FORMAT", _default_format) == "json":
    logger_class = JsonLogger
