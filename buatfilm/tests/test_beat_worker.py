"""The real thing: `celery beat` (DatabaseScheduler) and `celery worker` processes on Redis run
a scheduled job end to end against the test database. Subprocesses cannot see an in-memory
SQLite database, so this needs PostgreSQL as well as Redis."""

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from buatfilm.schedules import schedules_setup
from conftest import redis_url
from notifications.models import NotificationOutbox, OutboxStatus, Template
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


@pytest.fixture
def celery_processes(tmp_path):
    prefix = f"buatfilm-beat-test-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "buatfilm.settings.test",
        "DATABASE_URL": database_url(),
        "TEST_CELERY_BROKER_URL": redis_url(),
        "TEST_CELERY_KEYPREFIX": prefix,
        "WHATSAPP_FILE_PATH": str(tmp_path / "whatsapp"),
        "LOG_FORMAT": "json",
    }
    celery = [sys.executable, "-m", "celery", "-A", "buatfilm", "--quiet"]  # as the Procfile
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("worker", "beat")}  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [*celery, "worker", "-Q", "default,notifications", "--pool=solo", "-l", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                *celery,
                "beat",
                "-l",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                f"--pidfile={tmp_path / 'beat.pid'}",
                "--max-interval=1",
            ],
            cwd=ROOT,
            env=env,
            stdout=logs["beat"],
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        yield tmp_path
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()
        client = redis.Redis.from_url(redis_url())
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


def test_beat_and_worker_expire_an_order_and_deliver_its_messages(settings, celery_processes):
    settings.SCHEDULE_EXPIRE_ORDERS_SECONDS = 1
    settings.SCHEDULE_DISPATCH_OUTBOX_SECONDS = 2
    schedules_setup()
    order = OrderFactory(
        status=OrderStatus.PENDING_PAYMENT, expires_at=timezone.now() - timedelta(seconds=5)
    )

    def expired_and_delivered() -> bool:
        if Order.objects.get(pk=order.pk).status != OrderStatus.EXPIRED:
            return False
        rows = NotificationOutbox.objects.filter(order=order, template_name=Template.ORDER_EXPIRED)
        return rows.count() == 2 and all(r.status == OutboxStatus.SENT for r in rows)

    ok = wait_for(expired_and_delivered, timeout=90)
    logs = {p.name: p.read_text()[-3000:] for p in celery_processes.glob("*.log")}
    assert ok, logs
    assert "orders.expire_orders" in logs["beat.log"]
    # The worker kept the project's logging (Celery did not hijack the root logger): the
    # delivery lines carry the order id as correlation id.
    worker_log = (celery_processes / "worker.log").read_text()
    sent_lines = [line for line in worker_log.splitlines() if "outbox_sent" in line]
    assert len(sent_lines) == 2, worker_log[-3000:]
    assert all(order.order_id in line for line in sent_lines), sent_lines
    whatsapp = list((celery_processes / "whatsapp").glob("*"))
    assert len(whatsapp) == 1

    # LOG_FORMAT=json: worker and beat write one JSON object per log line, and the worker's
    # lines about this order carry its id and the task run's id.
    entries = {}
    for name in ("worker", "beat"):
        lines = (celery_processes / f"{name}.log").read_text().splitlines()
        assert not [line for line in lines if "level=" in line], name
        entries[name] = [json.loads(line) for line in lines if line.startswith("{")]
        assert entries[name], name
        assert all({"timestamp", "level", "logger", "message"} <= e.keys() for e in entries[name])
    assert any("orders.expire_orders" in e["message"] for e in entries["beat"])
    about_order = [e for e in entries["worker"] if e.get("order_id") == order.order_id]
    assert about_order, entries["worker"][-20:]
    assert all(e.get("request_id") for e in about_order)
