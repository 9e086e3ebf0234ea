"""Relevance at send time (a message whose reason is gone is CANCELLED, never sent) and poison
messages (a row whose workers keep dying reaches the DLQ with an ops alert)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from notifications import services
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.services import Outcome, outbox_claim_due, outbox_deliver, outbox_dispatch_due
from orders.messages import VALID_IN, outbox_enqueue_for_order
from orders.models import OrderStatus
from orders.services import reminders_send_due
from orders.tests.lifecycle import move, order_in

pytestmark = pytest.mark.django_db

S = OrderStatus
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def fresh(row):
    return NotificationOutbox.objects.get(pk=row.pk)


def rows_of(order, template):
    return {
        row.channel: row
        for row in NotificationOutbox.objects.filter(order=order, template_name=template)
    }


def test_every_customer_template_declares_where_it_is_valid():
    customer = set(Template.values) - {Template.OPS_ALERT, Template.LOGIN_LINK}
    assert set(VALID_IN) == customer
    for statuses in VALID_IN.values():
        assert statuses and statuses <= set(S.values)


def test_rows_carry_their_templates_rule(gateway):
    order = order_in(S.PENDING_PAYMENT)
    for row in rows_of(order, Template.PAYMENT_INSTRUCTION).values():
        assert row.valid_order_statuses == [S.PENDING_PAYMENT]


def test_reminder_retried_after_paid_is_cancelled_not_sent(gateway, anymail_backend, settings):
    settings.REMINDER_AFTER_MINUTES = 0
    order = order_in(S.PENDING_PAYMENT, customer_phone="+6281234567789")
    with time_machine.travel(T0, tick=False):
        assert reminders_send_due(now=order.created_at + timedelta(minutes=1)) == [order.order_id]
        reminder = rows_of(order, Template.PAYMENT_REMINDER)[Channel.WHATSAPP]
        gateway.fail_next(1, status=503)
        assert outbox_deliver(outbox_id=reminder.pk) == Outcome.RETRYING
        assert gateway.requests == 1
    move(order, S.PAID)
    with time_machine.travel(fresh(reminder).next_attempt_at, tick=False):
        outbox_dispatch_due(limit=50)

    reminder = fresh(reminder)
    assert reminder.status == OutboxStatus.CANCELLED
    assert "PAID" in reminder.last_error
    assert reminder.sent_at is None and reminder.locked_by == ""
    texts = [message.text for message in gateway.messages]
    assert not any("belum dibayar" in text for text in texts), texts
    # The success message of the same order did go out.
    assert fresh(rows_of(order, Template.PAYMENT_SUCCESS_ACCESS)[Channel.WHATSAPP]).status == (
        OutboxStatus.SENT
    )


def test_instructions_still_queued_at_paid_are_cancelled(gateway, anymail_backend):
    order = order_in(S.PENDING_PAYMENT)
    move(order, S.PAID)
    counts = outbox_dispatch_due(limit=50)
    assert counts[Outcome.CANCELLED] == 2
    for row in rows_of(order, Template.PAYMENT_INSTRUCTION).values():
        assert fresh(row).status == OutboxStatus.CANCELLED
    assert {row.status for row in rows_of(order, Template.PAYMENT_SUCCESS_ACCESS).values()} == {
        OutboxStatus.SENT
    }
    assert all("Instruksi" not in message.subject for message in anymail_backend)


@pytest.mark.parametrize(
    ("fresh_seconds", "outcome"),
    [(services.CLAIM_FRESH_SECONDS, Outcome.SENT), (0, Outcome.CANCELLED)],
    ids=["sent-right-after-the-claim", "sent-late-in-a-slow-batch"],
)
def test_the_status_read_with_the_claim_holds_only_while_fresh(
    gateway, anymail_backend, monkeypatch, fresh_seconds, outcome
):
    # The claim reads each row's order status; a row sent right away is judged on that read
    # (no second query), one sent later is read again. Here the order is paid between the
    # claim and the sends: only the late sends see it.
    order = order_in(S.PENDING_PAYMENT)
    claim = services._claim

    def claim_then_pay(**kwargs):
        rows = claim(**kwargs)
        move(order, S.PAID)
        return rows

    monkeypatch.setattr(services, "_claim", claim_then_pay)
    monkeypatch.setattr(services, "CLAIM_FRESH_SECONDS", fresh_seconds)
    counts = outbox_dispatch_due(limit=2)
    assert counts[outcome] == 2
    statuses = {row.status for row in rows_of(order, Template.PAYMENT_INSTRUCTION).values()}
    assert statuses == {OutboxStatus.SENT if outcome == Outcome.SENT else OutboxStatus.CANCELLED}


def test_a_row_without_a_rule_is_always_sent(gateway, anymail_backend):
    order = order_in(S.PAID)
    rows = outbox_enqueue_for_order(order=order, template=Template.PAYMENT_SUCCESS_ACCESS)
    assert rows == []  # already queued by the transition: one per (order, channel, template)
    alert = NotificationOutbox.objects.create(
        order=order,
        channel=Channel.EMAIL,
        template_name=Template.OPS_ALERT,
        recipient="ops@example.com",
        context={"subject": "s", "message": "m"},
        dedupe_key="no-rule",
    )
    move(order, S.REFUNDED)
    assert outbox_deliver(outbox_id=alert.pk) == Outcome.SENT


# --- poison messages ------------------------------------------------------------------------


def test_a_message_that_kills_every_worker_reaches_the_dlq_with_an_alert(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 5
    order = order_in(S.PENDING_PAYMENT)
    row = rows_of(order, Template.PAYMENT_INSTRUCTION)[Channel.EMAIL]
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    now = T0
    claims = 0
    # Each worker claims the row and dies before writing anything back; its lease expires.
    for _ in range(12):
        if row.pk in outbox_claim_due(limit=50, worker_id=f"doomed-{claims}", now=now):
            claims += 1
        now += lease + timedelta(seconds=1)

    row = fresh(row)
    assert claims == 5
    assert row.status == OutboxStatus.DLQ
    assert row.attempt_count == 5
    assert row.locked_by == "" and row.locked_until is None
    assert "5 percobaan" in row.last_error
    assert row.error_history[-1]["attempt"] == 5
    alert = NotificationOutbox.objects.get(dedupe_key=f"outbox_dlq:{row.pk}")
    assert alert.template_name == Template.OPS_ALERT
    assert f"#{row.pk}" in alert.context["message"]
    # The DLQ row is not claimed again.
    assert row.pk not in outbox_claim_due(limit=50, worker_id="late", now=now + lease * 10)


def test_an_exhausted_row_is_not_claimed_by_the_per_row_task_either(settings):
    order = order_in(S.PENDING_PAYMENT)
    row = rows_of(order, Template.PAYMENT_INSTRUCTION)[Channel.EMAIL]
    NotificationOutbox.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENDING,
        attempt_count=row.max_attempts,
        locked_by="dead",
        locked_until=T0,
    )
    after_lease = T0 + timedelta(seconds=1)
    assert outbox_deliver(outbox_id=row.pk, now=after_lease) == Outcome.SKIPPED
    assert fresh(row).status == OutboxStatus.DLQ
    assert NotificationOutbox.objects.filter(dedupe_key=f"outbox_dlq:{row.pk}").exists()


def test_a_leased_row_with_attempts_left_is_claimed_again():
    order = order_in(S.PENDING_PAYMENT)
    row = rows_of(order, Template.PAYMENT_INSTRUCTION)[Channel.EMAIL]
    assert outbox_claim_due(limit=50, worker_id="a", now=T0) != []
    later = T0 + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1)
    assert row.pk in outbox_claim_due(limit=50, worker_id="b", now=later)
    assert fresh(row).attempt_count == 2 and fresh(row).locked_by == "b"
