"""A tiny local stand-in for the self-hosted WhatsApp gateway (WAHA-style API), for tests,
benchmarks and development. Never used in production.

    with FakeWhatsAppGateway(token="secret") as gateway:   # serves on 127.0.0.1:<free port>
        settings.WHATSAPP_GATEWAY_URL = gateway.url
        gateway.fail_next(2, status=503)     # the next two sends answer 503
        gateway.redirect_next(1, location=…)  # the next send answers 302 to `location`
        gateway.slow_next(1, seconds=2.0)    # the next send answers after 2 s
        gateway.reject("+6281111111111")     # that number is refused with 422, always
        ...
        gateway.messages                     # every accepted message, in order

It speaks `POST /api/sendText` (JSON `session`, `chatId`, `text`; header `X-Api-Key` when a
token is set) and answers 201 with `{"id": ...}` like WAHA. `GET /api/messages` lists what it
accepted. Run standalone: `python -m devtools.fake_gateway --port 3001`.
"""

import argparse
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

StartResponse = Callable[..., Any]


@dataclass
class GatewayMessage:
    id: str
    session: str
    chat_id: str
    text: str
    api_key: str
    received_at: float = field(default_factory=time.time)


class _KeepAliveServerHandler(ServerHandler):
    http_version = "1.1"  # answers carry Content-Length, so the connection can stay open


class _QuietHandler(WSGIRequestHandler):
    """wsgiref answers one request per connection; a real gateway keeps connections alive,
    and the client reuses them (`buatfilm.sessions`), so this serves requests until the
    client closes (HTTP/1.1) instead of making every benchmark send pay a TCP handshake."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or len(self.raw_requestline) > 65536:
            self.close_connection = True
            return
        if not self.parse_request():  # an error answer was sent
            return
        # The body is read whole first: an answer that ignores it (401, a scripted failure)
        # must not leave it in the stream, where it would be read as the next request.
        body = io.BytesIO(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        handler = _KeepAliveServerHandler(
            body,
            cast(IO[bytes], self.wfile),
            self.get_stderr(),
            self.get_environ(),
            multithread=False,
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out hangs up before a slow answer: not worth a traceback.
        pass


class FakeWhatsAppGateway:
    def __init__(self, *, token: str = "", host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.messages: list[GatewayMessage] = []
        self.requests = 0  # every sendText request, accepted or not
        self.max_in_flight = 0  # the most sendText requests it was answering at one time
        self._in_flight = 0
        self._failures: list[tuple[int, str, list[tuple[str, str]]]] = []
        self._delays: list[float] = []
        self._rejected: set[str] = set()
        self._lock = threading.Lock()
        self._server: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- test controls ----------------------------------------------------------------------

    def fail_next(self, times: int, *, status: int = 503, body: str = "") -> None:
        """The next `times` sends answer `status` (and accept nothing)."""
        with self._lock:
            self._failures.extend([(status, body or f"fake failure {status}", [])] * times)

    def redirect_next(self, times: int, *, location: str, status: int = 302) -> None:
        """The next `times` sends answer a redirect to `location` (and accept nothing)."""
        with self._lock:
            self._failures.extend([(status, "moved", [("Location", location)])] * times)

    def slow_next(self, times: int, *, seconds: float) -> None:
        """The next `times` sends wait `seconds` before answering."""
        with self._lock:
            self._delays.extend([seconds] * times)

    def reject(self, phone: str) -> None:
        """Refuse this number permanently (422 "not on WhatsApp")."""
        with self._lock:
            self._rejected.add(phone.removeprefix("+").split("@")[0])

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self._failures.clear()
            self._delays.clear()
            self._rejected.clear()
            self.requests = 0
            self.max_in_flight = 0

    def chat_ids(self) -> list[str]:
        with self._lock:
            return [message.chat_id for message in self.messages]

    # --- server -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FakeWhatsAppGateway":
        self._server = make_server(
            self.host,
            self.port,
            self,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeWhatsAppGateway":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if path == "/api/messages" and method == "GET":
            with self._lock:
                listing = [message.__dict__ for message in self.messages]
            return self._json(start_response, 200, listing)
        if path != "/api/sendText":
            return self._json(start_response, 404, {"error": "not found"})
        if method != "POST":
            return self._json(start_response, 405, {"error": "method not allowed"})
        return self._send_text(environ, start_response)

    def _send_text(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            self.requests += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            delay = self._delays.pop(0) if self._delays else 0.0
            failure = self._failures.pop(0) if self._failures else None
        try:
            if delay:
                time.sleep(delay)
            return self._answer(environ, start_response, failure)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        failure: tuple[int, str, list[tuple[str, str]]] | None,
    ) -> Iterable[bytes]:
        api_key = environ.get("HTTP_X_API_KEY", "")
        if self.token and api_key != self.token:
            return self._json(start_response, 401, {"error": "invalid api key"})
        if failure is not None:
            status, error, headers = failure
            return self._json(start_response, status, {"error": error}, headers)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
            session, chat, text = payload["session"], payload["chatId"], payload["text"]
        except (ValueError, KeyError, TypeError):
            return self._json(start_response, 400, {"error": "session, chatId and text required"})
        number = str(chat).split("@")[0]
        if not str(chat).endswith("@c.us") or not number.isdigit():
            return self._json(start_response, 400, {"error": "chatId must look like 628…@c.us"})
        with self._lock:
            if number in self._rejected:
                rejected = True
            else:
                rejected = False
                message = GatewayMessage(
                    id=f"true_{chat}_{uuid.uuid4().hex[:20].upper()}",
                    session=str(session),
                    chat_id=str(chat),
                    text=str(text),
                    api_key=api_key,
                )
                self.messages.append(message)
        if rejected:
            return self._json(start_response, 422, {"error": "number is not on WhatsApp"})
        return self._json(start_response, 201, {"id": message.id, "timestamp": int(time.time())})

    @staticmethod
    def _json(
        start_response: StartResponse,
        status: int,
        body: object,
        headers: Iterable[tuple[str, str]] = (),
    ) -> list[bytes]:
        data = json.dumps(body).encode()
        reason = {200: "OK", 201: "Created"}.get(status, "Error")
        start_response(
            f"{status} {reason}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                *headers,
            ],
        )
        return [data]


def main() -> None:  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description="Fake WhatsApp gateway (dev/test only)")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    gateway = FakeWhatsAppGateway(token=args.token, port=args.port).start()
    print(f"fake WhatsApp gateway on {gateway.url} (Ctrl+C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        gateway.stop()


if __name__ == "__main__":
    main()
