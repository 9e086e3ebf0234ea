"""The fake WhatsApp gateway keeps connections alive like a real one, and an answer that
ignores the request body (a wrong key, a scripted failure) leaves nothing behind on the
connection for the next request to trip over."""

import http.client
import json

from devtools.fake_gateway import FakeWhatsAppGateway


def _send(conn: http.client.HTTPConnection, key: str) -> int:
    body = json.dumps({"session": "default", "chatId": "6281234567789@c.us", "text": "halo"})
    conn.request(
        "POST",
        "/api/sendText",
        body=body,
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    response.read()
    return response.status


def test_one_connection_serves_every_request_including_refused_ones():
    with FakeWhatsAppGateway(token="secret") as gateway:
        conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
        conn.connect()
        sock = conn.sock
        assert _send(conn, "wrong") == 401  # the body is never read by the app
        gateway.fail_next(1, status=503)
        assert _send(conn, "secret") == 503
        assert _send(conn, "secret") == 201
        assert conn.sock is sock  # the same connection all along
        conn.close()
    assert gateway.requests == 3 and len(gateway.messages) == 1
