"""Error reports: `before_send` scrubbing, and a real report sent by the SDK to a local fake
Sentry (as GlitchTip would receive it) holding no secret and no unmasked contact detail."""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from buatfilm.sentry import FILTERED, scrub_event, scrub_text, sentry_init
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body

ACCESS_KEY = "Zq3v9Qm1xY7kP0aB4cD8eF2gH6iJ5kL9mN3oP7qR1sT"
LOGIN_TOKEN = "MTIz:1tXyZa:Vb7kC9dE2fG4hJ6kL8mN0pQ"
SIGNATURE = "a1" * 64
SERVER_KEY = "SB-Mid-server-TEST-KEY"
EMAIL = "budi.santoso@gmail.com"
PHONE = "+6281234567789"
SECRETS = (ACCESS_KEY, LOGIN_TOKEN, SIGNATURE, SERVER_KEY, EMAIL, PHONE, "081234567789")


def realistic_event() -> dict:
    return {
        "message": f"order for {EMAIL} failed, phone 081234567789",
        "request": {
            "url": f"https://buatfilm.example/orders/BF-1/?key={ACCESS_KEY}",
            "query_string": f"key={ACCESS_KEY}&x=1",
            "method": "POST",
            "headers": {
                "Authorization": f"Bearer {ACCESS_KEY}",
                "X-Order-Key": ACCESS_KEY,
                "Idempotency-Key": "idem-0123456789abcdef",
                "Cookie": "sessionid=abc",
                "User-Agent": "Mozilla/5.0",
            },
            "data": json.dumps({"signature_key": SIGNATURE, "email": EMAIL, "name": "Budi"}),
        },
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"no user for https://buatfilm.example/login/{LOGIN_TOKEN}/",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "order_for_customer",
                                "vars": {
                                    "access_key": f"'{ACCESS_KEY}'",
                                    "payload": {"signature_key": SIGNATURE, "phone": PHONE},
                                    "headers": [["X-Order-Key", ACCESS_KEY], ["Accept", "*/*"]],
                                    "gateway": f"<Gateway server_key={SERVER_KEY}>",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {
            "values": [{"message": f"sent login link /login/{LOGIN_TOKEN}/ to {EMAIL}"}]
        },
        "extra": {"status_url": f"https://x/orders/BF-1/?key={ACCESS_KEY}", "amount": 499000},
    }


def test_before_send_removes_secrets_and_masks_contact_details():
    scrubbed = scrub_event(realistic_event(), {})
    text = json.dumps(scrubbed)
    for secret in SECRETS:
        assert secret not in text, secret
    assert "b***o@gmail.com" in text
    assert "+62812****789" in text
    request = scrubbed["request"]
    assert request["headers"]["X-Order-Key"] == FILTERED
    assert request["headers"]["Authorization"] == FILTERED
    assert request["headers"]["User-Agent"] == "Mozilla/5.0"
    assert request["url"] == f"https://buatfilm.example/orders/BF-1/?key={FILTERED}"
    assert json.loads(request["data"])["name"] == "Budi"
    frame = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["function"] == "order_for_customer"
    assert frame["vars"]["headers"][1] == ["Accept", "*/*"]
    assert scrubbed["extra"]["amount"] == 499000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /orders/BF-1/?key=abc&x=1", f"GET /orders/BF-1/?key={FILTERED}&x=1"),
        ("token=abc&x=1", f"token={FILTERED}&x=1"),
        ("monkey=1&keyboard=2", "monkey=1&keyboard=2"),
        ("/login/tok.en:1/ done", f"/login/{FILTERED}/ done"),
        ("Authorization: Bearer abc.def", f"Authorization: Bearer {FILTERED}"),
        ("key Mid-server-AbC_123 leaked", f"key {FILTERED} leaked"),
        ("call 0812 3456 789 later", "call 0812 3456 789 later"),  # not one number
        ("BF-20261124-ABCD costs 499000", "BF-20261124-ABCD costs 499000"),
    ],
)
def test_scrub_text(text, expected):
    assert scrub_text(text) == expected


class FakeSentry(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_sentry():
    import sentry_sdk

    FakeSentry.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSentry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sentry_init(
        dsn=f"http://public@127.0.0.1:{server.server_port}/1",
        environment="test",
        release="test-release",
        traces_sample_rate=0.0,
    )
    try:
        yield FakeSentry.received
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: reporting off for the rest of the run
        server.shutdown()
        server.server_close()


@pytest.mark.django_db(transaction=True)
def test_a_real_report_from_a_failing_webhook_holds_no_secret(
    live_server, fake_sentry, monkeypatch
):
    import sentry_sdk

    integrations = sentry_sdk.get_client().integrations
    assert {"django", "celery"} <= set(integrations)

    def broken(**kwargs):
        raise RuntimeError(f"database gone while handling {EMAIL} / {PHONE}")

    monkeypatch.setattr("payments.views.payment_notification_process", broken)
    attempt = PaymentAttemptFactory(order__customer_email=EMAIL)
    body = midtrans_body(attempt, "settlement", customer_email=EMAIL)
    response = requests.post(
        f"{live_server.url}/payments/midtrans/notification/?key={ACCESS_KEY}",
        json=body,
        headers={"X-Order-Key": ACCESS_KEY, "Authorization": f"Bearer {ACCESS_KEY}"},
        timeout=30,
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)

    events = []
    for envelope in fake_sentry:
        for line in envelope.splitlines():
            if line.startswith(b"{") and b'"exception"' in line:
                events.append(json.loads(line))
    assert events, fake_sentry
    event = events[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["environment"] == "test"
    request = event["request"]
    assert request["url"].endswith("/payments/midtrans/notification/")
    assert request["headers"]["X-Order-Key"] == FILTERED
    raw = b"".join(fake_sentry).decode()
    for secret in (ACCESS_KEY, body["signature_key"], EMAIL, PHONE, SERVER_KEY):
        assert secret not in raw, secret
    assert "b***o@gmail.com" in raw
