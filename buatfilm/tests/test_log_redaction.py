"""No bearer secret in any log (issue 10, point 7): the Procfile's own web command (gunicorn
with its access log) serves requests carrying the order access key, magic-link tokens, the
`X-Order-Key` header and a webhook signature; its whole output is grepped afterwards."""

import json
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from buatfilm.logging import RedactSecretsFilter
from buatfilm.redaction import redact
from buatfilm.testing import database_url, free_port, procfile_command

ROOT = Path(__file__).resolve().parents[2]


def test_redact_covers_every_kind_of_bearer_secret():
    cases = {
        "GET /orders/BF-1/?key=AbC123_-x&lang=id HTTP/1.1": "key=[redacted]&lang=id",
        "GET /login/eyJ1IjoxfQ:1vQ:sig-x_Y/ HTTP/1.1": "/login/[redacted]/",
        "X-Order-Key: 9f8e7d": "X-Order-Key: [redacted]",
        '{"signature_key": "deadbeef", "order_id": "BF-1"}': '"signature_key": "[redacted]"',
        "Authorization: Bearer metrics-token": "Authorization: Bearer [redacted]",
        "https://buatfilm.example.com/orders/BF-1/access/?key=zz": "access/?key=[redacted]",
    }
    for text, expected in cases.items():
        assert expected in redact(text), text
    # Ordinary fields survive.
    plain = "GET /login/ HTTP/1.1 monkey=1 order_id=BF-1 to=b***i@gmail.com"
    assert redact(plain) == plain
    # The cheap pre-check (a line without a secret's name skips the patterns) is not
    # fooled by case: every name is found however it is written.
    for text in ("TOKEN=abc", "X-ORDER-KEY: 9f8e", "PassWord=hunter2", "AUTHORIZATION: Basic x"):
        assert "[redacted]" in redact(text), text


def test_the_django_log_filter_redacts_message_arguments_and_tracebacks():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/login/tok3n/",), None
    )
    try:
        raise ValueError("bad key=s3cret-value")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecretsFilter().filter(record)
    assert record.getMessage() == "Not Found: /login/[redacted]/"
    assert "s3cret-value" not in record.exc_text and "key=[redacted]" in record.exc_text


def http(url: str, *, data: bytes | None = None, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_procfile_web_command_logs_no_secret(tmp_path, log_format):
    from courses.services import magic_link_token
    from courses.tests.factories import customer_account
    from orders.tests.factories import OrderFactory

    order = OrderFactory()
    customer = customer_account(email=order.customer_email)
    token = magic_link_token(user=customer)
    bogus_token = "forged-login-token-0123456789"
    signature = "c0ffee" * 21 + "ab"
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DJANGO_SETTINGS_MODULE": "buatfilm.settings.test",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": log_format,
    }
    output = tmp_path / "web.log"
    with output.open("w") as log:
        web = subprocess.Popen(
            ["bash", "-c", f"exec {procfile_command('web')}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http(f"{base}/healthz/") == 200:
                    break
            except OSError:
                pass
            assert web.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.3)
        status_url = f"{base}/orders/{order.order_id}/?key={order.access_key}"
        assert http(status_url, headers={"Referer": status_url}) == 200
        assert http(f"{base}/orders/{order.order_id}/receipt/?key={order.access_key}") in {
            200,
            404,
        }
        assert http(f"{base}/orders/BF-NOPE/?key={order.access_key}") == 404
        api = f"{base}/api/orders/{order.order_id}/"
        assert http(api, headers={"X-Order-Key": order.access_key}) == 200
        http(f"{base}/login/{token}/")
        http(f"{base}/login/{bogus_token}/")
        body = json.dumps(
            {
                "order_id": order.order_id,
                "status_code": "200",
                "gross_amount": "1.00",
                "transaction_status": "settlement",
                "signature_key": signature,
            }
        ).encode()
        webhook = f"{base}/payments/midtrans/notification/?signature_key={signature}"
        assert http(webhook, data=body, headers={"Content-Type": "application/json"}) == 403
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    text = output.read_text()
    access_lines = [line for line in text.splitlines() if '" 200 ' in line or '" 404 ' in line]
    assert len(access_lines) >= 4, text  # the access log is on, so the grep below means something
    assert "[redacted]" in text
    for secret in (order.access_key, token, bogus_token, signature):
        assert secret not in text, f"{secret!r} leaked:\n{text}"
