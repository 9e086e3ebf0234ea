"""Outgoing HTTP reuses one kept-alive connection per process: Midtrans through
`get_gateway()` and the WhatsApp gateway, each against a keep-alive server this test starts
and that counts the connections it accepts. A forked child starts with fresh sessions."""

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from buatfilm import sessions
from notifications.whatsapp import WhatsAppClient
from payments.midtrans import MidtransGateway, MidtransUnavailable, get_gateway

STATUS = {"status_code": "201", "transaction_status": "pending", "order_id": "BF-1"}


class _KeepAliveServer(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.paths: list[str] = []  # request targets: absolute when sent through a proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _KeepAliveServer

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # one handler per accepted connection

    def _answer(self) -> None:
        self.server.paths.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({**STATUS, "id": "wamid-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def keepalive_server() -> Iterator[_KeepAliveServer]:
    server = _KeepAliveServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def fresh_sessions() -> Iterator[None]:
    """Start and end with an empty registry: no session keeps a socket to another test."""
    sessions.reset_after_fork()
    yield
    sessions.reset_after_fork()


def _url(server: _KeepAliveServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_two_midtrans_calls_share_one_connection(settings, keepalive_server):
    settings.MIDTRANS_API_BASE_URL = _url(keepalive_server)
    settings.MIDTRANS_SNAP_BASE_URL = _url(keepalive_server)

    assert get_gateway().get_status("BF-1") is not None
    assert get_gateway().get_status("BF-2") is not None

    assert keepalive_server.connections == 1


def test_threads_sharing_the_session_keep_their_own_deadline(settings, keepalive_server):
    """One thread's call hangs on a server that never answers and is cut at its deadline;
    meanwhile another thread's calls through the same session answer at once."""
    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody answers
    timeouts = {"connect_timeout": 1.0, "read_timeout": 5.0, "max_retries": 0}
    hanging = MidtransGateway(
        server_key="k",
        api_base_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
        deadline_seconds=0.5,
        **timeouts,
    )
    fast = MidtransGateway(server_key="k", api_base_url=_url(keepalive_server), **timeouts)
    assert hanging.session is fast.session
    outcome: list[object] = []

    def hang() -> None:
        started = time.monotonic()
        try:
            hanging.get_status("BF-1")
        except MidtransUnavailable as exc:
            outcome.append((exc, time.monotonic() - started))

    thread = threading.Thread(target=hang)
    try:
        thread.start()
        time.sleep(0.1)
        assert fast.get_status("BF-2") is not None  # not cut by the other thread's deadline
        assert fast.get_status("BF-3") is not None
        thread.join(timeout=5)
    finally:
        silent.close()

    [(error, seconds)] = outcome
    assert "deadline" in str(error) and seconds < 2  # its own 0.5 s, not the 5 s read timeout
    assert keepalive_server.connections == 1


def test_two_whatsapp_messages_share_one_connection(settings, keepalive_server):
    settings.WHATSAPP_BACKEND = "http"
    settings.WHATSAPP_GATEWAY_URL = _url(keepalive_server)

    assert WhatsAppClient().send_text(phone="+6281234567789", text="satu") == "wamid-1"
    assert WhatsAppClient().send_text(phone="+6281234567789", text="dua") == "wamid-1"

    assert keepalive_server.connections == 1


def test_each_timeout_pair_has_its_own_session():
    first = sessions.shared_session("k1", requests.Session)
    assert sessions.shared_session("k1", requests.Session) is first
    assert sessions.shared_session("k2", requests.Session) is not first


def test_a_forked_child_gets_a_fresh_session():
    parent = sessions.shared_session("whatsapp", requests.Session)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        try:
            fresh = sessions.shared_session("whatsapp", requests.Session) is not parent
            os.write(write_end, b"fresh" if fresh else b"shared")
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        answer = os.read(read_end, 16)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert answer == b"fresh"
    assert sessions.shared_session("whatsapp", requests.Session) is parent


CALLS = {
    "request": lambda session, url: session.get(url, timeout=5),
    "post_json": lambda session, url: session.post_json(url, json={}, headers={}, timeout=5),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_the_proxy_environment_is_read_once_per_origin(monkeypatch, keepalive_server, call):
    """The environment a session saw on its first call to an origin holds for that origin; a
    new origin reads it again, through `request()` and the direct `post_json()` alike. The
    server is its own proxy here: a request sent through it names the absolute URL."""
    port = keepalive_server.server_address[1]
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    session = sessions.EnvironmentOnceSession()

    call(session, f"http://127.0.0.1:{port}/first")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    call(session, f"http://127.0.0.1:{port}/again")
    call(session, f"http://localhost:{port}/elsewhere")

    assert keepalive_server.paths == ["/first", "/again", f"http://localhost:{port}/elsewhere"]


def test_a_call_with_its_own_proxies_is_merged_as_usual(monkeypatch, keepalive_server):
    """The cached environment does not override what a call passes itself."""
    port = keepalive_server.server_address[1]
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    session = sessions.EnvironmentOnceSession()
    url = f"http://127.0.0.1:{port}/direct"

    session.get(url, timeout=5)
    session.get(url, timeout=5, proxies={"http": f"http://127.0.0.1:{port}"})

    assert keepalive_server.paths == ["/direct", url]
