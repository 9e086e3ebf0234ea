"""A real Celery worker consuming the `notifications` queue from a real Redis broker delivers a
row created by a committed transaction (the on_commit dispatch), and runs the Beat sweep task.

The worker runs in-process (celery.contrib.testing) so it shares the test database on SQLite
and PostgreSQL alike; the broker keys get a unique prefix so parallel test runs never consume
each other's messages."""

import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection, transaction

from conftest import redis_url
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.tests.conftest import make_order
from orders.messages import order_message_context, outbox_enqueue_for_order

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _reset_producer_pools(app):
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis_app():
    """The project's Celery app pointed at REDIS_URL for this test only."""
    from buatfilm.celery import app

    keys = ("broker_url", "broker_transport_options", "task_always_eager")
    keys += ("worker_hijack_root_logger",)
    saved = {key: app.conf[key] for key in keys}
    prefix = f"buatfilm-test-{uuid.uuid4().hex[:10]}:"
    app.conf.broker_url = redis_url()
    app.conf.broker_transport_options = {"global_keyprefix": prefix}
    app.conf.task_always_eager = False
    app.conf.worker_hijack_root_logger = False  # leave pytest's log capture alone
    _reset_producer_pools(app)

    def close_db(**_kwargs):  # runs in the worker thread after each task
        connection.close()

    task_postrun.connect(close_db, weak=False)
    try:
        yield app, prefix
    finally:
        task_postrun.disconnect(close_db)
        _reset_producer_pools(app)
        for key, value in saved.items():
            app.conf[key] = value
        client = redis.Redis.from_url(redis_url())
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def queued_in_redis(prefix: str, queue: str = "notifications") -> int:
    client = redis.Redis.from_url(redis_url())
    try:
        return client.llen(f"{prefix}{queue}")
    finally:
        client.close()


def test_worker_delivers_rows_dispatched_after_commit(redis_app, gateway, anymail_backend):
    app, prefix = redis_app
    assert app.connection_for_write().transport.driver_type == "redis"
    order = make_order()
    with transaction.atomic():
        rows = outbox_enqueue_for_order(order=order, template=Template.PAYMENT_INSTRUCTION)
        ids = [row.pk for row in rows]
        assert queued_in_redis(prefix) == 0  # nothing is published before the commit
    # Committed: one task message for the rows of the transaction waits until a worker comes.
    assert queued_in_redis(prefix) == 1

    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["notifications"],
        shutdown_timeout=30,
    ):
        sent = NotificationOutbox.objects.filter(pk__in=ids, status=OutboxStatus.SENT)
        assert wait_for(lambda: sent.count() == 2), list(
            NotificationOutbox.objects.values_list("status", "last_error")
        )

    assert queued_in_redis(prefix) == 0
    assert len(anymail_backend) == 1 and anymail_backend[0].to == [order.customer_email]
    assert [m.chat_id for m in gateway.messages] == ["6281234567789@c.us"]
    email_row = NotificationOutbox.objects.get(pk__in=ids, channel=Channel.EMAIL)
    assert email_row.provider_message_id == str(anymail_backend[0].anymail_status.message_id)


def test_beat_sweep_task_delivers_rows_whose_task_message_was_lost(redis_app, gateway):
    from notifications.tasks import dispatch_outbox

    app, prefix = redis_app
    context = order_message_context(make_order())
    # Written without a dispatch, as if the broker had been down at commit time.
    NotificationOutbox.objects.bulk_create(
        NotificationOutbox(
            channel=Channel.WHATSAPP,
            template_name=Template.PAYMENT_REMINDER,
            recipient=f"+6281300000{i:02d}",
            context=context,
        )
        for i in range(5)
    )
    dispatch_outbox.delay()
    assert queued_in_redis(prefix) == 1
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["notifications"],
        shutdown_timeout=30,
    ):
        sent = NotificationOutbox.objects.filter(status=OutboxStatus.SENT)
        assert wait_for(lambda: sent.count() == 5)

    assert len(set(gateway.chat_ids())) == 5
