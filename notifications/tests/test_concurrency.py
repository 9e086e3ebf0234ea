"""Workers draining the outbox at the same time on PostgreSQL (real connections, real threads):
SKIP LOCKED claims hand every row to exactly one worker."""

import time

import pytest

from buatfilm.testing import run_concurrently
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.services import (
    Outcome,
    outbox_deliver,
    outbox_dispatch_due,
)
from notifications.tests.conftest import make_order
from orders.messages import order_message_context

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _whatsapp_instructions(count: int) -> list[NotificationOutbox]:
    """`count` due payment instructions, one per WhatsApp number +62812 0000000, 0000001, …"""
    context = order_message_context(make_order())
    return NotificationOutbox.objects.bulk_create(
        NotificationOutbox(
            channel=Channel.WHATSAPP,
            template_name=Template.PAYMENT_INSTRUCTION,
            recipient=f"+62812{i:07d}",
            context=context,
            max_attempts=5,
        )
        for i in range(count)
    )


def test_two_workers_drain_500_rows_and_send_each_exactly_once(gateway, settings):
    settings.OUTBOX_CLAIM_BATCH = 10
    _whatsapp_instructions(500)

    results = run_concurrently(
        [lambda n=n: outbox_dispatch_due(limit=1000, worker_id=f"worker-{n}") for n in (1, 2)]
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    sent_by = [r[Outcome.SENT] for r in results]
    assert sum(sent_by) == 500
    assert all(count > 0 for count in sent_by), f"both workers should share the work: {sent_by}"
    assert all(r[Outcome.LOST] == 0 and r[Outcome.RETRYING] == 0 for r in results)
    chat_ids = gateway.chat_ids()
    assert len(chat_ids) == 500
    assert len(set(chat_ids)) == 500  # no duplicates
    assert gateway.requests == 500
    rows = NotificationOutbox.objects.all()
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert set(rows.values_list("attempt_count", flat=True)) == {1}
    assert rows.values("provider_message_id").distinct().count() == 500


def test_many_tasks_for_the_same_row_send_it_once(gateway):
    order = make_order()
    row = NotificationOutbox.objects.create(
        order=order,
        channel=Channel.WHATSAPP,
        template_name=Template.PAYMENT_INSTRUCTION,
        recipient=order.customer_phone,
        context=order_message_context(order),
    )

    results = run_concurrently([lambda: outbox_deliver(outbox_id=row.pk)] * 8)

    assert sorted(results) == [Outcome.SENT] + [Outcome.SKIPPED] * 7
    assert len(gateway.messages) == 1
    assert NotificationOutbox.objects.get(pk=row.pk).attempt_count == 1


def _backends() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_one_sweep_sends_a_batch_side_by_side_each_row_once_and_closes_its_connections(
    gateway, anymail_backend, settings
):
    settings.OUTBOX_SEND_CONCURRENCY = 4
    settings.OUTBOX_CLAIM_BATCH = 10
    order = make_order()
    context = order_message_context(order)
    NotificationOutbox.objects.bulk_create(
        NotificationOutbox(
            channel=channel,
            template_name=Template.PAYMENT_INSTRUCTION,
            recipient=f"+62812{i:07d}" if channel == Channel.WHATSAPP else f"c{i}@example.com",
            context=context,
            max_attempts=5,
        )
        for i in range(100)
        for channel in (Channel.WHATSAPP, Channel.EMAIL)
    )
    connections_before = _backends()
    gateway.slow_next(8, seconds=0.2)  # a slow provider: the other senders go on meanwhile

    counts = outbox_dispatch_due(limit=1000, worker_id="worker-threads")

    assert counts[Outcome.SENT] == 200
    assert counts[Outcome.LOST] == counts[Outcome.RETRYING] == 0
    assert sorted(gateway.chat_ids()) == sorted(f"62812{i:07d}@c.us" for i in range(100))
    assert gateway.max_in_flight > 1
    assert sorted(m.to[0] for m in anymail_backend) == sorted(
        f"c{i}@example.com" for i in range(100)
    )
    rows = NotificationOutbox.objects.all()
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert set(rows.values_list("attempt_count", flat=True)) == {1}
    # The four senders' connections are closed with them, not left idle on the server (a
    # backend leaves pg_stat_activity a moment after its client disconnects: wait for it).
    deadline = time.monotonic() + 10
    while _backends() > connections_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _backends() == connections_before


def test_a_sender_that_raises_fails_the_sweep_after_its_batch_is_sent(
    gateway, settings, monkeypatch
):
    from notifications import services

    settings.OUTBOX_SEND_CONCURRENCY = 3
    settings.OUTBOX_CLAIM_BATCH = 5
    rows = _whatsapp_instructions(5)
    real = services.outbox_write_back

    def broken_for_one(*, claimed, **kwargs):
        if claimed.pk == rows[2].pk:
            raise RuntimeError("database gone for this row")
        return real(claimed=claimed, **kwargs)

    monkeypatch.setattr(services, "outbox_write_back", broken_for_one)

    with pytest.raises(RuntimeError, match="database gone"):
        outbox_dispatch_due(limit=100, worker_id="worker-broken")

    statuses = dict(NotificationOutbox.objects.values_list("pk", "status"))
    assert statuses.pop(rows[2].pk) == OutboxStatus.SENDING  # its lease expires, it is retried
    assert set(statuses.values()) == {OutboxStatus.SENT}
