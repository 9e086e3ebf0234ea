"""Helpers shared by the test suites (imported by tests only, never by the site)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page


def run_concurrently(
    functions: Sequence[Callable[[], object]], *, timeout: float = 120
) -> list[object]:
    """Run every function in its own thread, all released at the same instant.

    The threads meet at a `threading.Barrier` (waited on with `timeout`, so one thread that
    never starts breaks the barrier instead of hanging the others), then each calls its
    function on its own database connection, which it closes when done. Returns one entry per
    function, in order: what the function returned, or the `Exception` it raised. An exception
    that is not an `Exception` (`KeyboardInterrupt`, pytest's `fail`/`skip`, ...) is re-raised
    in the calling thread after the join.

    Fails the calling test if a thread is still running `timeout` seconds after the start.
    """
    barrier = threading.Barrier(len(functions), timeout=timeout)
    results: list[object] = [None] * len(functions)
    escaped: list[BaseException] = []

    def worker(index: int, function: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:
            results[index] = exc
        except BaseException as exc:
            escaped.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, function), daemon=True)
        for index, function in enumerate(functions)
    ]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [thread.name for thread in threads if thread.is_alive()]
    assert not hung, f"{len(hung)} of {len(threads)} threads still running after {timeout}s: {hung}"
    if escaped:
        raise escaped[0]
    return results


def screenshot(target: Page | Locator, name: str) -> None:
    """Save a screenshot as BROWSER_SCREENSHOT_DIR/<name>.png when that variable is set.

    A `Page` is captured full-page; a `Locator` captures just that element.
    """
    from playwright.sync_api import Page

    directory = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    path = str(Path(directory) / f"{name}.png")
    if isinstance(target, Page):
        target.screenshot(path=path, full_page=True)
    else:
        target.screenshot(path=path)


def production_env(**overrides: str) -> dict[str, str]:
    """A complete production environment (every variable `buatfilm.settings.production`
    requires, nothing from the caller's env but PATH), for subprocesses that import it. An
    override of "" removes that variable."""
    env = {
        "DJANGO_SETTINGS_MODULE": "buatfilm.settings.production",
        "SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
        "ALLOWED_HOSTS": "buatfilm.example.com",
        "SITE_URL": "https://buatfilm.example.com",
        "DATABASE_URL": "postgres://buatfilm:secret@db.internal:5432/buatfilm",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "MIDTRANS_SERVER_KEY": "Mid-server-realistic",
        "MIDTRANS_CLIENT_KEY": "Mid-client-realistic",
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "POSTMARK_SERVER_TOKEN": "postmark-token-realistic",
        "WHATSAPP_BACKEND": "http",
        "WHATSAPP_GATEWAY_URL": "http://waha.internal:3000",
        "WHATSAPP_GATEWAY_TOKEN": "gateway-token-realistic",
        "OPS_EMAIL": "ops@buatfilm.example.com",
        "ADMIN_URL": "staff-7f3a/",
        "METRICS_TOKEN": "metrics-token-realistic",
        "PATH": os.environ.get("PATH", ""),
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value != ""}


def free_port() -> int:
    """A localhost TCP port nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """The URL of the database the test run uses (for subprocesses: web, worker, beat)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def procfile_command(process: str, procfile: Path | None = None) -> str:
    """The command line of `process` in the repository's Procfile."""
    path = procfile or Path(__file__).resolve().parent.parent / "Procfile"
    for line in path.read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise LookupError(f"no {process!r} process in {path}")


class RedisServer:
    """A throwaway `redis-server` on a free localhost port (never the machine's shared one),
    which a test can stop and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - the system redis-server
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def _answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False
