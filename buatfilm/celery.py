"""The Celery app: JSON only, late acks, one message prefetched at a time.

Delivery tasks must survive a worker dying mid-task (`acks_late` + `task_reject_on_worker_lost`
put the message back); prefetch 1 keeps a slow send from hoarding messages another worker could
take. The outbox rows, not the broker, are the source of truth: a lost message is found again by
the beat sweep.
"""

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun, worker_process_init

from buatfilm.logging import set_request_id as _set_request_id
from buatfilm.memory import worker_ready

# Like wsgi.py: the Procfile processes default to production (which refuses to start
# misconfigured); `make run` exports the local settings, `manage.py` defaults to them. Importing
# `buatfilm.wsgi` imports this module first, so a "local" default here would win over wsgi.py's.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buatfilm.settings.production")

app = Celery("buatfilm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    # Write each job's last_run_at as soon as Beat sends it (the default waits up to 3 min):
    # /metrics reports it and "Beat silent for 5 minutes" alerts on it.
    beat_sync_every=1,
    task_default_queue="default",
    task_routes={"notifications.*": {"queue": "notifications"}},
    timezone="Asia/Jakarta",
    enable_utc=True,
    # Keep the project's LOGGING (format, order-id correlation filter) in worker and beat.
    worker_hijack_root_logger=False,
)
app.autodiscover_tasks()


@setup_logging.connect
def _logging_from_django_settings(**kwargs: Any) -> None:
    """Worker and beat log through Django's LOGGING (LOG_FORMAT json/text, correlation ids)
    instead of Celery's own format: connecting this signal stops Celery configuring logging."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@worker_process_init.connect
def _worker_ready(**kwargs: Any) -> None:
    """A pool process starts with the app its parent loaded: warm it up and keep it out of
    every collection (`buatfilm.memory`)."""
    worker_ready()


@task_prerun.connect
def _task_request_id(task_id: str | None = None, **kwargs: Any) -> None:
    """Each task run logs its task id as `request_id` (beat's and the web's lines name it too)."""
    _set_request_id(task_id or "-")


@task_postrun.connect
def _task_request_id_done(**kwargs: Any) -> None:
    _set_request_id("-")
