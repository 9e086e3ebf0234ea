"""Run :class:`MidtransSimulator` on a real socket in a background thread.

Why: the SDK must talk to it over real HTTP (tests use it as a fixture, development runs it next
to ``runserver``). A threading server is required because a webhook sent by the simulator may
call back into the simulator's status API before the first request has finished.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from devtools.midtrans_simulator.app import MidtransSimulator


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request; daemon and non-blocking close so a delayed request cannot hang
    ``stop()``."""

    daemon_threads = True
    block_on_close = False


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log per request: test output and the dev console stay readable."""

    def log_message(self, format: str, *args: Any) -> None:
        return None


class SimulatorServer:
    """Serve a :class:`MidtransSimulator` on ``host:port`` (``port=0`` picks a free port).

    Point the SDK at it per instance::

        api_config.SNAP_SANDBOX_BASE_URL = server.snap_base_url
        api_config.CORE_SANDBOX_BASE_URL = server.api_base_url
    """

    def __init__(
        self,
        server_key: str,
        notification_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        public_base_url: str | None = None,
        http_timeout: float = 5.0,
    ) -> None:
        """``public_base_url`` overrides the host used in Snap ``redirect_url`` (e.g. behind a
        proxy); by default the Host header of the token request is used."""
        self.simulator = MidtransSimulator(
            server_key,
            notification_url,
            public_base_url=public_base_url,
            http_timeout=http_timeout,
        )
        self.host = host
        self.port = port
        self._httpd: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port``; with ``port=0`` only known once :meth:`start` has bound."""
        if self.port == 0:
            raise RuntimeError("Call start() first: port 0 is only resolved when binding")
        return f"http://{self.host}:{self.port}"

    @property
    def snap_base_url(self) -> str:
        """Value for the SDK's ``SNAP_SANDBOX_BASE_URL`` / ``SNAP_PRODUCTION_BASE_URL``."""
        return f"{self.base_url}/snap/v1"

    @property
    def api_base_url(self) -> str:
        """Value for the SDK's ``CORE_SANDBOX_BASE_URL`` / ``CORE_PRODUCTION_BASE_URL``."""
        return self.base_url

    def start(self) -> SimulatorServer:
        """Bind and serve in a daemon thread; returns ``self`` for one-line fixtures."""
        if self._httpd is not None:
            raise RuntimeError("Simulator server already started")
        httpd = make_server(
            self.host,
            self.port,
            self.simulator,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietRequestHandler,
        )
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"midtrans-simulator-{httpd.server_port}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        self.port = httpd.server_port
        thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until Ctrl-C or :meth:`stop`, blocking the caller (the dev management command)."""
        self.start()
        try:
            while (thread := self._thread) is not None and thread.is_alive():
                thread.join(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
