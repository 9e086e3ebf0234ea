"""`/metrics` behind real gunicorn with several workers (the Procfile's layout, `gunicorn.conf.py`
picked up from the working directory): every scrape, whichever worker answers it, reports the
webhook requests of all workers, including workers that have exited since (`--max-requests`
recycles them, so the requests are spread over at least four processes by construction)."""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from buatfilm.testing import database_url, free_port
from orders.models import Order, OrderStatus
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import WEBHOOK_URL, midtrans_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gunicorn-metrics-token-0123456789"
WEBHOOKS = 12
MAX_REQUESTS = 3


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"} | {
        "DJANGO_SETTINGS_MODULE": "buatfilm.settings.test",
        "DATABASE_URL": database_url(),
        "METRICS_TOKEN": TOKEN,
        "TMPDIR": str(tmp_path),  # gunicorn.conf.py makes its metrics folder here
        "LOG_FORMAT": "json",
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "buatfilm.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--max-requests",
            str(MAX_REQUESTS),
            "--timeout",
            "30",
            "--access-logfile",
            "-",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # generous: CI machines can be busy
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if requests.get(base + "/healthz/", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a slow first answer
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)
        yield base, tmp_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(
        base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_counters_add_up_over_every_worker(gunicorn):
    base, tmp_path = gunicorn
    attempt = PaymentAttemptFactory()
    forged = midtrans_body(attempt, "settlement", server_key="not-our-key")

    def post(_: int) -> int:
        return requests.post(base + WEBHOOK_URL, json=forged, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(post, range(WEBHOOKS))) == [403] * WEBHOOKS

    assert requests.get(base + "/metrics", timeout=10).status_code == 401
    pending = Order.objects.filter(status=OrderStatus.PENDING_PAYMENT).count()
    for _ in range(4):  # several scrapes, answered by different (and recycled) workers
        samples = scrape(base)
        assert samples[("buatfilm_webhook_invalid_signature_total", ())] == WEBHOOKS
        outcome = (("outcome", "invalid_signature"),)
        assert samples[("buatfilm_webhook_requests_total", outcome)] == WEBHOOKS
        assert samples[("buatfilm_webhook_duration_seconds_count", ())] == WEBHOOKS
        assert samples[("buatfilm_orders", (("status", "PENDING_PAYMENT"),))] == pending
    folders = list(tmp_path.glob("buatfilm-metrics-*"))
    assert len(folders) == 1
    writers = {path.name for path in folders[0].glob("counter_*.db")}
    assert len(writers) >= WEBHOOKS // MAX_REQUESTS, writers


def test_web_logs_are_json_lines_gunicorn_and_django_alike(gunicorn):
    base, tmp_path = gunicorn
    attempt = PaymentAttemptFactory()
    forged = midtrans_body(attempt, "settlement", server_key="not-our-key")
    answer = requests.post(base + WEBHOOK_URL, json=forged, timeout=30)
    assert answer.status_code == 403
    log = tmp_path / "gunicorn.log"

    def access_logged(text: str) -> bool:
        # The access line is written after the answer; wait for it, whole (newline included).
        return any(
            '"gunicorn.access"' in line and WEBHOOK_URL in line
            for line in text.splitlines(keepends=True)
            if line.endswith("\n")
        )

    deadline = time.monotonic() + 20
    while not access_logged(log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    lines = [line for line in text[: text.rfind("\n") + 1].splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every whole line, or this raises
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "gunicorn.access", "payments.views"} <= loggers, loggers
    rejected = [e for e in entries if e["logger"] == "payments.views"]
    assert rejected[0]["request_id"] == answer.headers["X-Request-ID"]
    assert any(WEBHOOK_URL in e["message"] for e in entries if e["logger"] == "gunicorn.access")
