"""Delivery: claim → send (real HTTP to the fake gateway, anymail's test ESP) → fenced
write-back; retries with backoff, DLQ with ops alert, lease takeover, resend, the command."""

import logging
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from buatfilm.logging import CorrelationIdFilter
from notifications.errors import DeliveryError
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.services import (
    Outcome,
    ResendNotAllowed,
    SendResult,
    ops_alert_enqueue,
    outbox_claim_due,
    outbox_deliver,
    outbox_deliver_each,
    outbox_dispatch_due,
    outbox_send_claimed,
    outbox_write_back,
)
from notifications.tests.conftest import make_order
from notifications.tests.test_senders import esp_error
from orders.messages import order_message_resend as outbox_resend
from orders.messages import outbox_enqueue_for_order
from orders.models import OrderStatus
from supportdesk.models import AuditLog

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def instruction_rows(order, channels=(Channel.EMAIL, Channel.WHATSAPP)):
    rows = outbox_enqueue_for_order(
        order=order, template=Template.PAYMENT_INSTRUCTION, channels=channels
    )
    return {row.channel: row for row in rows}


def fresh(row):
    return NotificationOutbox.objects.get(pk=row.pk)


def dlq_alerts():
    return NotificationOutbox.objects.filter(
        template_name=Template.OPS_ALERT, dedupe_key__startswith="outbox_dlq:"
    )


# --- success --------------------------------------------------------------------------------


def test_email_and_whatsapp_are_sent_and_recorded(order, gateway, anymail_backend):
    rows = instruction_rows(order)

    with time_machine.travel(T0, tick=False):
        assert outbox_deliver(outbox_id=rows[Channel.EMAIL].pk) == Outcome.SENT
        assert outbox_deliver(outbox_id=rows[Channel.WHATSAPP].pk) == Outcome.SENT

    [email] = anymail_backend
    assert email.to == [order.customer_email]
    assert email.subject.startswith("Instruksi pembayaran pesanan")
    [whatsapp] = gateway.messages
    assert whatsapp.chat_id == "6281234567789@c.us"
    assert order.order_id in whatsapp.text and "Rp 499.000" in whatsapp.text

    email_row, wa_row = fresh(rows[Channel.EMAIL]), fresh(rows[Channel.WHATSAPP])
    assert email_row.provider_message_id == str(email.anymail_status.message_id)
    assert wa_row.provider_message_id == whatsapp.id
    for row in (email_row, wa_row):
        assert row.status == OutboxStatus.SENT
        assert row.sent_at == T0
        assert row.attempt_count == 1
        assert row.locked_until is None and row.locked_by == ""
        assert row.error_history == [] and row.last_error == ""


def test_the_rows_of_one_transaction_are_claimed_together_and_each_sent(
    order, gateway, anymail_backend
):
    """The task published after a commit carries every row it queued: one claim leases them
    all, each is sent and written back on its own."""
    rows = instruction_rows(order)
    ids = [rows[Channel.EMAIL].pk, rows[Channel.WHATSAPP].pk]

    with CaptureQueriesContext(connection) as queries:
        outcomes = outbox_deliver_each(outbox_ids=ids)

    assert outcomes == {ids[0]: Outcome.SENT, ids[1]: Outcome.SENT}
    claims = [q for q in queries.captured_queries if "SKIP LOCKED" in q["sql"]]
    assert len(claims) == (1 if connection.features.has_select_for_update_skip_locked else 0)
    assert len(anymail_backend) == 1 and len(gateway.messages) == 1
    assert {fresh(row).status for row in rows.values()} == {OutboxStatus.SENT}
    assert outbox_deliver_each(outbox_ids=ids) == dict.fromkeys(ids, Outcome.SKIPPED)


def test_a_row_whose_send_fails_does_not_keep_the_other_from_going_out(
    order, gateway, anymail_backend, monkeypatch
):
    from notifications import services

    rows = instruction_rows(order)
    real_send = services._send

    def send(row, extra_context=None):
        if row.channel == Channel.EMAIL:
            raise RuntimeError("a bug in the email path")
        return real_send(row, extra_context)

    monkeypatch.setattr(services, "_send", send)

    with pytest.raises(RuntimeError, match="a bug in the email path"):
        outbox_deliver_each(outbox_ids=[rows[Channel.EMAIL].pk, rows[Channel.WHATSAPP].pk])

    assert fresh(rows[Channel.WHATSAPP]).status == OutboxStatus.SENT
    assert len(gateway.messages) == 1
    assert fresh(rows[Channel.EMAIL]).status == OutboxStatus.SENDING  # the lease runs out


def test_a_sent_row_is_never_sent_again(order, gateway):
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]
    assert outbox_deliver(outbox_id=row.pk) == Outcome.SENT
    assert outbox_deliver(outbox_id=row.pk) == Outcome.SKIPPED
    assert outbox_dispatch_due(limit=100)["sent"] == 0
    assert gateway.requests == 1


# --- transient failures and retries ---------------------------------------------------------


def test_gateway_5xx_then_success(order, gateway, settings):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 60
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]
    gateway.fail_next(1, status=503)

    with time_machine.travel(T0, tick=False):
        assert outbox_deliver(outbox_id=row.pk) == Outcome.RETRYING
        retrying = fresh(row)
        assert retrying.status == OutboxStatus.RETRYING
        assert T0 + timedelta(seconds=1) <= retrying.next_attempt_at <= T0 + timedelta(seconds=60)
        assert "503" in retrying.last_error
        assert retrying.error_history == [
            {"at": T0.isoformat(), "attempt": 1, "error": retrying.last_error}
        ]
        assert retrying.locked_by == "" and retrying.locked_until is None
        # Not due yet: a duplicate task message or the sweep leave it alone.
        assert outbox_deliver(outbox_id=row.pk) == Outcome.SKIPPED
        assert outbox_dispatch_due(limit=10)["sent"] == 0
        assert gateway.requests == 1

    with time_machine.travel(retrying.next_attempt_at, tick=False):
        assert outbox_dispatch_due(limit=10) == {
            "sent": 1,
            "retrying": 0,
            "dlq": 0,
            "lost": 0,
            "cancelled": 0,
        }

    sent = fresh(row)
    assert sent.status == OutboxStatus.SENT
    assert sent.attempt_count == 2
    assert len(sent.error_history) == 1  # the history of the failed attempt stays
    assert [m.chat_id for m in gateway.messages] == ["6281234567789@c.us"]


def test_slow_gateway_times_out_and_is_retried(order, gateway, settings):
    settings.WHATSAPP_TIMEOUT = 0.3
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]
    gateway.slow_next(1, seconds=1.5)

    with time_machine.travel(T0, tick=False):
        assert outbox_deliver(outbox_id=row.pk) == Outcome.RETRYING
    retrying = fresh(row)
    assert "timeout after 0.3s" in retrying.last_error

    with time_machine.travel(retrying.next_attempt_at, tick=False):
        assert outbox_deliver(outbox_id=row.pk) == Outcome.SENT
    assert fresh(row).status == OutboxStatus.SENT
    assert gateway.requests == 2


def test_transient_failures_until_max_attempts_end_in_dlq_with_history_and_one_alert(
    order, gateway, anymail_backend, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 10
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]
    assert row.max_attempts == 3
    gateway.fail_next(10, status=502)

    moment = T0
    outcomes = []
    for attempt in (1, 2, 3):
        with time_machine.travel(moment, tick=False):
            counts = outbox_dispatch_due(limit=10)
        current = fresh(row)
        outcomes.append(current.status)
        if current.next_attempt_at:
            # full jitter under an exponential ceiling
            assert current.next_attempt_at - moment <= timedelta(seconds=10 * 2 ** (attempt - 1))
            moment = current.next_attempt_at
    assert outcomes == [OutboxStatus.RETRYING, OutboxStatus.RETRYING, OutboxStatus.DLQ]
    assert counts["dlq"] == 1

    dead = fresh(row)
    assert dead.attempt_count == 3
    assert [entry["attempt"] for entry in dead.error_history] == [1, 2, 3]
    assert all("502" in entry["error"] for entry in dead.error_history)
    assert dead.next_attempt_at is None and dead.locked_by == ""

    [alert] = dlq_alerts()
    assert alert.dedupe_key == f"outbox_dlq:{row.pk}"
    assert alert.recipient == settings.OPS_EMAIL
    assert alert.order_id == order.order_id
    assert order.order_id in alert.context["subject"]
    assert "payment_instruction/WHATSAPP" in alert.context["subject"]
    assert alert.context["admin_url"].endswith(f"/orders/order/{order.pk}/change/")
    assert "+62812****789" in alert.context["message"]
    assert "+6281234567789" not in alert.context["message"]

    # DLQ is final for the worker: nothing more is sent, and no second alert.
    with time_machine.travel(moment + timedelta(days=1), tick=False):
        outbox_dispatch_due(limit=10)
    assert gateway.requests == 3
    assert fresh(row).status == OutboxStatus.DLQ
    assert dlq_alerts().count() == 1
    # The alert itself is an email and was delivered by the same run.
    assert [m.subject for m in anymail_backend] == [f"[BuatFilm ops] {alert.context['subject']}"]


def test_email_transient_esp_error_is_retried_then_sent(order, scripted_email):
    row = instruction_rows(order, channels=[Channel.EMAIL])[Channel.EMAIL]
    scripted_email.errors = [esp_error(503)]
    with time_machine.travel(T0, tick=False):
        assert outbox_deliver(outbox_id=row.pk) == Outcome.RETRYING
    retrying = fresh(row)
    with time_machine.travel(retrying.next_attempt_at, tick=False):
        assert outbox_deliver(outbox_id=row.pk) == Outcome.SENT
    assert len(mail.outbox) == 1
    assert fresh(row).provider_message_id == str(mail.outbox[0].anymail_status.message_id)


# --- permanent failures ---------------------------------------------------------------------


def test_rejected_number_goes_straight_to_dlq_and_alerts_ops(order, gateway):
    gateway.reject(order.customer_phone)
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]

    assert outbox_deliver(outbox_id=row.pk) == Outcome.DLQ

    dead = fresh(row)
    assert dead.status == OutboxStatus.DLQ
    assert dead.attempt_count == 1
    assert len(dead.error_history) == 1
    assert "permanent status=422" in dead.last_error
    assert "6281234567789" not in dead.last_error  # the gateway quoted nothing raw
    [alert] = dlq_alerts()
    assert "ditolak permanen" in alert.context["message"]


def test_invalid_email_recipient_goes_to_dlq_with_the_address_masked(order, scripted_email):
    row = instruction_rows(order, channels=[Channel.EMAIL])[Channel.EMAIL]
    scripted_email.errors = [esp_error(422, f'{{"Message": "Invalid To: {order.customer_email}"}}')]

    assert outbox_deliver(outbox_id=row.pk) == Outcome.DLQ

    dead = fresh(row)
    assert order.customer_email not in dead.last_error
    assert "b***" in dead.last_error
    assert order.customer_email not in str(dead.error_history)
    assert dlq_alerts().count() == 1


def test_an_ops_alert_that_dies_raises_no_alert_about_itself(scripted_email, caplog):
    alert = ops_alert_enqueue(dedupe_key="test:1", subject="Uji", message="Isi")
    scripted_email.errors = [esp_error(400)]

    with caplog.at_level(logging.ERROR, logger="notifications.services"):
        assert outbox_deliver(outbox_id=alert.pk) == Outcome.DLQ

    assert fresh(alert).status == OutboxStatus.DLQ
    assert NotificationOutbox.objects.count() == 1  # no alert about the alert
    assert any(
        r.levelno == logging.CRITICAL and "event=outbox_dlq" in r.getMessage()
        for r in caplog.records
    )


# --- leases ---------------------------------------------------------------------------------


def test_claim_takes_due_rows_and_expired_leases_only(order, settings):
    settings.OUTBOX_LEASE_SECONDS = 600
    rows = instruction_rows(order)
    pending = rows[Channel.EMAIL]
    later = rows[Channel.WHATSAPP]
    NotificationOutbox.objects.filter(pk=later.pk).update(
        status=OutboxStatus.RETRYING, next_attempt_at=T0 + timedelta(minutes=5)
    )
    expired = ops_alert_enqueue(dedupe_key="a", subject="s", message="m")
    NotificationOutbox.objects.filter(pk=expired.pk).update(
        status=OutboxStatus.SENDING, locked_until=T0 - timedelta(seconds=1), attempt_count=1
    )
    live = ops_alert_enqueue(dedupe_key="b", subject="s", message="m")
    NotificationOutbox.objects.filter(pk=live.pk).update(
        status=OutboxStatus.SENDING, locked_until=T0 + timedelta(minutes=10), attempt_count=1
    )
    for status in (OutboxStatus.SENT, OutboxStatus.DLQ):
        done = ops_alert_enqueue(dedupe_key=status, subject="s", message="m")
        NotificationOutbox.objects.filter(pk=done.pk).update(status=status)

    claimed = outbox_claim_due(limit=10, worker_id="w1", now=T0)

    assert claimed == sorted([pending.pk, expired.pk])
    for pk, attempts in ((pending.pk, 1), (expired.pk, 2)):
        row = NotificationOutbox.objects.get(pk=pk)
        assert row.status == OutboxStatus.SENDING
        assert row.locked_by == "w1"
        assert row.locked_until == T0 + timedelta(seconds=600)
        assert row.attempt_count == attempts
    assert outbox_claim_due(limit=10, worker_id="w2", now=T0) == []
    # The retry comes due at its time.
    assert outbox_claim_due(limit=10, worker_id="w2", now=T0 + timedelta(minutes=5)) == [later.pk]


def test_claim_respects_the_limit(order):
    instruction_rows(order)
    first = outbox_claim_due(limit=1, worker_id="w1", now=T0)
    second = outbox_claim_due(limit=5, worker_id="w2", now=T0)
    assert len(first) == 1 and len(second) == 1 and first != second


def test_a_worker_that_dies_after_claiming_is_replaced_after_the_lease(order, gateway, settings):
    settings.OUTBOX_LEASE_SECONDS = 120
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]

    with time_machine.travel(T0, tick=False):
        assert outbox_claim_due(limit=10, worker_id="worker-a") == [row.pk]
        as_claimed_by_a = fresh(row)  # what worker A holds in memory
    # A "dies" here. While its lease runs, nobody else may take the row.
    with time_machine.travel(T0 + timedelta(seconds=119), tick=False):
        assert outbox_deliver(outbox_id=row.pk) == Outcome.SKIPPED
        assert outbox_dispatch_due(limit=10, worker_id="worker-b")["sent"] == 0
    assert gateway.requests == 0

    with time_machine.travel(T0 + timedelta(seconds=121), tick=False):
        counts = outbox_dispatch_due(limit=10, worker_id="worker-b")
    assert counts["sent"] == 1
    sent = fresh(row)
    assert sent.status == OutboxStatus.SENT
    assert sent.attempt_count == 2
    provider_id = gateway.messages[0].id
    assert sent.provider_message_id == provider_id

    # A comes back: it does not send (its lease is gone) ...
    with time_machine.travel(T0 + timedelta(seconds=200), tick=False):
        assert outbox_send_claimed(claimed=as_claimed_by_a) == Outcome.LOST
    assert gateway.requests == 1
    # ... and its late write-back (had it sent before dying) changes nothing.
    late_success = SendResult(provider_message_id="late-from-a")
    assert outbox_write_back(claimed=as_claimed_by_a, result=late_success) == Outcome.LOST
    late_failure = SendResult(error=DeliveryError("boom", permanent=True))
    assert outbox_write_back(claimed=as_claimed_by_a, result=late_failure) == Outcome.LOST
    after = fresh(row)
    assert after.status == OutboxStatus.SENT
    assert after.provider_message_id == provider_id
    assert after.error_history == [] and after.attempt_count == 2
    assert dlq_alerts().count() == 0


def test_a_late_write_back_cannot_touch_a_row_another_worker_is_sending(order, gateway, settings):
    settings.OUTBOX_LEASE_SECONDS = 120
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]
    with time_machine.travel(T0, tick=False):
        outbox_claim_due(limit=10, worker_id="worker-a")
        as_claimed_by_a = fresh(row)
    with time_machine.travel(T0 + timedelta(seconds=121), tick=False):
        assert outbox_claim_due(limit=10, worker_id="worker-b") == [row.pk]
        as_claimed_by_b = fresh(row)
        # A wakes up while B holds the lease: neither its success nor its failure lands.
        for late in (
            SendResult(provider_message_id="late-from-a"),
            SendResult(error=DeliveryError("boom", permanent=True)),
            SendResult(error=DeliveryError("flaky", permanent=False)),
        ):
            assert outbox_write_back(claimed=as_claimed_by_a, result=late) == Outcome.LOST
        during = fresh(row)
        assert (during.status, during.locked_by, during.attempt_count) == (
            OutboxStatus.SENDING,
            "worker-b",
            2,
        )
        assert during.error_history == [] and during.provider_message_id == ""
        assert outbox_send_claimed(claimed=as_claimed_by_b) == Outcome.SENT
    assert fresh(row).provider_message_id == gateway.messages[0].id
    assert dlq_alerts().count() == 0


def test_same_worker_name_reclaiming_is_fenced_by_the_attempt_number(order, settings):
    """Even a worker id reused across claims cannot write back a stale attempt."""
    settings.OUTBOX_LEASE_SECONDS = 120
    row = instruction_rows(order, channels=[Channel.WHATSAPP])[Channel.WHATSAPP]
    with time_machine.travel(T0, tick=False):
        outbox_claim_due(limit=10, worker_id="same")
        first = fresh(row)
    with time_machine.travel(T0 + timedelta(seconds=121), tick=False):
        outbox_claim_due(limit=10, worker_id="same")
        stale = SendResult(provider_message_id="stale")
        assert outbox_write_back(claimed=first, result=stale) == Outcome.LOST
    assert fresh(row).status == OutboxStatus.SENDING


# --- ops alerts -----------------------------------------------------------------------------


def test_one_order_can_raise_several_different_alerts_but_each_only_once(order):
    first = ops_alert_enqueue(dedupe_key="late:1", subject="a", message="m", order=order)
    second = ops_alert_enqueue(dedupe_key="dlq:1", subject="b", message="m", order=order)
    again = ops_alert_enqueue(dedupe_key="late:1", subject="a", message="m", order=order)
    assert first is not None and second is not None and again is None
    assert NotificationOutbox.objects.filter(template_name=Template.OPS_ALERT).count() == 2


def test_ops_email_may_name_several_addresses(anymail_backend, settings):
    settings.OPS_EMAIL = "ops@buatfilm.id, cto@buatfilm.id"
    alert = ops_alert_enqueue(dedupe_key="multi", subject="Uji", message="Isi")
    assert outbox_deliver(outbox_id=alert.pk) == Outcome.SENT
    assert anymail_backend[0].to == ["ops@buatfilm.id", "cto@buatfilm.id"]


# --- resend ---------------------------------------------------------------------------------


def paid_success_rows(order):
    from courses.services import access_message_contexts

    rows = outbox_enqueue_for_order(
        order=order,
        template=Template.PAYMENT_SUCCESS_ACCESS,
        channel_context=access_message_contexts(order=order),
    )
    return {row.channel: row for row in rows}


def test_resend_writes_a_new_audited_row_with_a_fresh_login_link(anymail_backend):
    order = make_order(status=OrderStatus.PAID, paid_at=T0)
    with time_machine.travel(T0, tick=False):
        original = paid_success_rows(order)[Channel.EMAIL]
        outbox_deliver(outbox_id=original.pk)
    with time_machine.travel(T0 + timedelta(hours=30), tick=False):
        copy = outbox_resend(original_id=original.pk, actor="staff:ani", ip_address="10.0.0.5")
        assert outbox_deliver(outbox_id=copy.pk) == Outcome.SENT

    assert copy.resend_of_id == original.pk
    assert copy.template_name == Template.PAYMENT_SUCCESS_ACCESS
    assert copy.channel == Channel.EMAIL and copy.recipient == order.customer_email
    assert copy.requested_by == "staff:ani"
    assert copy.context["login_url"] != original.context["login_url"]
    assert {k: v for k, v in copy.context.items() if k != "login_url"} == {
        k: v for k, v in original.context.items() if k != "login_url"
    }
    assert fresh(original).status == OutboxStatus.SENT  # the automatic row is untouched
    audit = AuditLog.objects.get(action="notification_resend")
    assert audit.actor == "staff:ani"
    assert audit.entity_id == str(copy.pk)
    assert audit.old_value["resend_of"] == original.pk
    assert audit.ip_address == "10.0.0.5"
    assert audit.correlation_id == order.order_id
    assert len(anymail_backend) == 2
    # A second resend is another row; the automatic unique key still holds for automatic rows.
    outbox_resend(original_id=original.pk, actor="staff:ani")
    assert NotificationOutbox.objects.filter(resend_of=original).count() == 2
    assert (
        outbox_enqueue_for_order(
            order=order, template=Template.PAYMENT_SUCCESS_ACCESS, channels=[Channel.EMAIL]
        )
        == []
    )


def test_resend_to_another_channel_uses_the_orders_address(order, gateway):
    original = instruction_rows(order, channels=[Channel.EMAIL])[Channel.EMAIL]
    copy = outbox_resend(original_id=original.pk, actor="staff:ani", channel=Channel.WHATSAPP)
    assert copy.recipient == order.customer_phone
    assert copy.context == original.context
    assert outbox_deliver(outbox_id=copy.pk) == Outcome.SENT
    assert len(gateway.messages) == 1


def test_resend_refuses_nonsense_and_writes_nothing(order):
    alert = ops_alert_enqueue(dedupe_key="x", subject="s", message="m", order=order)
    with pytest.raises(ResendNotAllowed):
        outbox_resend(original_id=alert.pk, actor="staff:ani", channel=Channel.WHATSAPP)
    with pytest.raises(ResendNotAllowed):
        outbox_resend(original_id=alert.pk, actor="staff:ani", channel="SMS")
    with pytest.raises(NotificationOutbox.DoesNotExist):
        outbox_resend(original_id=999_999, actor="staff:ani")
    assert NotificationOutbox.objects.count() == 1
    assert not AuditLog.objects.filter(action="notification_resend").exists()
    copy = outbox_resend(original_id=alert.pk, actor="staff:ani")
    assert copy.dedupe_key is None and copy.recipient == alert.recipient


# --- dispatch after commit, the command, logs -----------------------------------------------


def test_new_rows_are_dispatched_after_commit(
    order, gateway, anymail_backend, django_capture_on_commit_callbacks
):
    from buatfilm.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            rows = instruction_rows(order)
            assert gateway.requests == 0  # nothing leaves before the commit
    finally:
        app.conf.task_always_eager = False
    assert len(callbacks) == 1
    assert {fresh(r).status for r in rows.values()} == {OutboxStatus.SENT}
    assert len(anymail_backend) == 1 and len(gateway.messages) == 1


def test_a_dead_broker_loses_nothing_the_sweep_sends_later(
    order, gateway, anymail_backend, django_capture_on_commit_callbacks, caplog
):
    import time

    from buatfilm.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app._pool = None
    app.amqp._producer_pool = None
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            rows = instruction_rows(order)
        elapsed = time.monotonic() - started
    finally:
        app.conf.broker_url = original
        app._pool = None
        app.amqp._producer_pool = None
    assert elapsed < 5  # the first failure stops the loop: no wait per row
    assert "the sweep will" in caplog.text
    assert {fresh(r).status for r in rows.values()} == {OutboxStatus.PENDING}

    assert outbox_dispatch_due(limit=10)["sent"] == 2
    assert len(anymail_backend) == 1 and len(gateway.messages) == 1


def test_command_prints_a_one_line_summary(order, gateway, anymail_backend):
    instruction_rows(order)
    out = StringIO()
    call_command("dispatch_outbox", stdout=out)
    assert out.getvalue().strip() == "sent 2, retrying 0, dlq 0, lost 0, cancelled 0"


def test_command_exits_zero_on_dlq_unless_asked(order, gateway, anymail_backend):
    gateway.reject(order.customer_phone)
    instruction_rows(order, channels=[Channel.WHATSAPP])
    out = StringIO()
    call_command("dispatch_outbox", stdout=out)
    # the DLQ row and the ops alert it raised (sent in the same run)
    assert out.getvalue().strip() == "sent 1, retrying 0, dlq 1, lost 0, cancelled 0"

    gateway.reject("+6289999999999")
    instruction_rows(make_order(customer_phone="+6289999999999"), channels=[Channel.WHATSAPP])
    with pytest.raises(CommandError, match="1 message"):
        call_command("dispatch_outbox", "--fail-on-dlq", stdout=StringIO())


def test_logs_carry_order_id_event_names_and_masked_recipients(
    order, gateway, anymail_backend, caplog
):
    gateway.fail_next(1, status=503)
    rows = instruction_rows(order)
    caplog.handler.addFilter(CorrelationIdFilter())
    with caplog.at_level(logging.INFO, logger="notifications.services"):
        outbox_dispatch_due(limit=10)

    lines = [(r.order_id, r.getMessage()) for r in caplog.records]
    events = {message.split()[0] for _, message in lines}
    assert {"event=outbox_sent", "event=outbox_failed", "event=outbox_dispatch_run"} <= events
    for order_id, message in lines:
        if message.startswith(("event=outbox_sent", "event=outbox_failed")):
            assert order_id == order.order_id
    text = "\n".join(message for _, message in lines)
    assert order.customer_email not in text and "6281234567789" not in text
    assert "to=+62812****789" in text
    assert f"outbox_id={rows[Channel.EMAIL].pk}" in text
