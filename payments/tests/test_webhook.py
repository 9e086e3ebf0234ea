"""The Midtrans webhook end to end through the Django test client: every status, what it does
to the attempt, the order, access and messages; and the reusable negative suite."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from courses.models import Entitlement
from notifications.models import Channel, NotificationOutbox, Template
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory
from payments.models import AttemptStatus, EventSource, PaymentAttempt, PaymentEvent
from payments.parsing import NotificationRejected
from payments.processing import Outcome, payment_notification_process
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import (
    MidtransWebhookNegativeCases,
    WorldSnapshot,
    midtrans_body,
    ops_alerts,
    post_notification,
    success_rows,
)
from supportdesk.models import AuditLog

pytestmark = pytest.mark.django_db
S = OrderStatus


class TestNegativeSuite(MidtransWebhookNegativeCases):
    """The shared hostile-input suite against a BCA VA attempt."""


class TestNegativeSuiteOnSecondAttempt(MidtransWebhookNegativeCases):
    """The same suite when the notification is for an order's second attempt (UC-006 retry)."""

    @pytest.fixture
    def attempt(self):
        order = OrderFactory()
        PaymentAttemptFactory(order=order, sequence=1, status=AttemptStatus.FAILED)
        return PaymentAttemptFactory(order=order, sequence=2)


@pytest.fixture
def attempt() -> PaymentAttempt:
    return PaymentAttemptFactory()


def fresh(instance):
    instance.refresh_from_db()
    return instance


def templates_of(order: Order) -> list[tuple[str, str]]:
    return sorted(
        NotificationOutbox.objects.filter(order=order).values_list("template_name", "channel")
    )


def status_changes_to(order: Order, status: str) -> int:
    return AuditLog.objects.filter(
        action="order_status_changed", entity_id=order.order_id, new_value__status=status
    ).count()


def send(client, body, expected_outcome: str, expected_status: int = 200):
    response = post_notification(client, body)
    assert response.status_code == expected_status, response.content
    assert response.json()["outcome"] == expected_outcome
    return response


# --- Money in ------------------------------------------------------------------------------


def test_settlement_pays_the_order_grants_access_and_queues_one_success_per_channel(
    client, attempt
):
    send(client, midtrans_body(attempt, "settlement"), "paid")

    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PAID and order.paid_at is not None
    attempt = fresh(attempt)
    assert attempt.status == AttemptStatus.COMPLETED and attempt.completed_at is not None
    assert attempt.transaction_status == "settlement"
    event = PaymentEvent.objects.get()
    assert (event.outcome, event.source) == ("paid", EventSource.WEBHOOK)
    assert event.signature_valid
    assert event.remote_ip == "127.0.0.1"
    assert "signature_key" not in event.raw_payload
    assert event.raw_payload["order_id"] == attempt.midtrans_order_id
    entitlement = Entitlement.objects.get(order=order)
    assert entitlement.status == Entitlement.Status.ACTIVE
    assert entitlement.user.email == order.customer_email
    assert templates_of(order) == [
        (Template.PAYMENT_SUCCESS_ACCESS, Channel.EMAIL),
        (Template.PAYMENT_SUCCESS_ACCESS, Channel.WHATSAPP),
    ]
    assert status_changes_to(order, S.PAID) == 1
    assert AuditLog.objects.get(
        action="order_status_changed", entity_id=order.order_id
    ).new_value == {
        "status": "PAID",
        "reason": "Pembayaran terkonfirmasi Midtrans",
        "payment_event": event.pk,
    }


def test_capture_with_fraud_accept_pays(client):
    attempt = PaymentAttemptFactory(payment_method="credit_card")
    send(client, midtrans_body(attempt, "capture", payment_type="credit_card"), "paid")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PAID
    assert fresh(attempt).status == AttemptStatus.COMPLETED
    assert Entitlement.objects.filter(order=order).count() == 1
    assert success_rows(order) == 2


def test_capture_with_fraud_challenge_waits_for_review_and_tells_support(client):
    attempt = PaymentAttemptFactory(payment_method="credit_card")
    body = midtrans_body(attempt, "capture", fraud_status="challenge", payment_type="credit_card")
    send(client, body, "needs_review")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PENDING_PAYMENT
    attempt = fresh(attempt)
    assert attempt.needs_review is True
    assert attempt.status == AttemptStatus.PENDING
    assert attempt.fraud_status == "challenge"
    assert Entitlement.objects.count() == 0
    assert success_rows(order) == 0
    (alert,) = ops_alerts(order)
    assert alert.dedupe_key == f"fraud_challenge:{attempt.midtrans_order_id}"
    # Midtrans later accepts the challenge: same transaction, new fraud_status -> paid.
    send(client, midtrans_body(attempt, "capture", payment_type="credit_card"), "paid")
    assert Order.objects.get(pk=order.pk).status == S.PAID


def test_settlement_for_a_created_order_whose_checkout_crashed_still_pays(client):
    attempt = PaymentAttemptFactory(order=OrderFactory(status=S.CREATED))
    send(client, midtrans_body(attempt), "paid")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PAID
    assert status_changes_to(order, S.PENDING_PAYMENT) == 1
    assert status_changes_to(order, S.PAID) == 1
    assert Entitlement.objects.filter(order=order).count() == 1
    # Paid already: the success messages, and no payment instructions next to them.
    assert sorted(templates_of(order)) == [
        (Template.PAYMENT_SUCCESS_ACCESS, Channel.EMAIL),
        (Template.PAYMENT_SUCCESS_ACCESS, Channel.WHATSAPP),
    ]


def test_late_settlement_after_expired_pays_audits_and_alerts(client):
    order = OrderFactory(expires_at=timezone.now() - timedelta(minutes=5))
    attempt = PaymentAttemptFactory(order=order)
    send(client, midtrans_body(attempt, "expire", fraud_status=None), "order_expired")
    assert Order.objects.get(pk=order.pk).status == S.EXPIRED
    assert fresh(attempt).status == AttemptStatus.FAILED
    assert (Template.ORDER_EXPIRED, Channel.EMAIL) in templates_of(order)

    # The customer's bank settled anyway: money taken -> access, audited and raised to ops.
    send(client, midtrans_body(attempt, "settlement"), "paid_late")
    order = Order.objects.get(pk=order.pk)
    assert order.status == S.PAID
    assert fresh(attempt).status == AttemptStatus.COMPLETED
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.ACTIVE
    late = AuditLog.objects.get(action="late_payment", entity_id=order.order_id)
    assert late.old_value == {"status": "EXPIRED"} and late.new_value == {"status": "PAID"}
    (alert,) = ops_alerts(order)
    assert alert.dedupe_key == f"late_payment:{order.order_id}"
    assert success_rows(order) == 2


def test_settlement_of_an_older_attempt_is_still_money(client):
    order = OrderFactory()
    first = PaymentAttemptFactory(order=order, sequence=1, status=AttemptStatus.FAILED)
    PaymentAttemptFactory(order=order, sequence=2)
    send(client, midtrans_body(first), "paid")
    assert Order.objects.get(pk=order.pk).status == S.PAID
    assert fresh(first).status == AttemptStatus.COMPLETED


def test_second_attempt_paid_after_the_first_is_a_double_payment_alert(client):
    order = OrderFactory()
    first = PaymentAttemptFactory(order=order, sequence=1)
    second = PaymentAttemptFactory(order=order, sequence=2)
    send(client, midtrans_body(first), "paid")
    before = WorldSnapshot.take()
    send(client, midtrans_body(second), "double_payment")
    assert Order.objects.get(pk=order.pk).status == S.PAID
    assert fresh(second).status == AttemptStatus.COMPLETED
    assert Entitlement.objects.count() == before.entitlements == 1
    assert success_rows(order) == 2
    (alert,) = ops_alerts(order)
    assert alert.dedupe_key == f"double_payment:{second.midtrans_order_id}"


def test_capture_accept_after_settlement_of_the_same_attempt_is_already_paid(client, attempt):
    send(client, midtrans_body(attempt), "paid")
    before = WorldSnapshot.take()
    send(client, midtrans_body(attempt, "capture"), "already_paid")
    after = WorldSnapshot.take()
    assert after.events == before.events + 1
    assert (after.orders, after.attempts, after.outbox, after.entitlements, after.audit) == (
        before.orders,
        before.attempts,
        before.outbox,
        before.entitlements,
        before.audit,
    )


# --- Pending: payment details ------------------------------------------------------------


@pytest.mark.parametrize("bank", ["bca", "bni", "bri"])
def test_pending_va_records_the_virtual_account(client, attempt, bank):
    body = midtrans_body(
        attempt,
        "pending",
        fraud_status=None,
        va_numbers=[{"bank": bank, "va_number": "12345678901"}],
    )
    send(client, body, "pending_recorded")
    attempt = fresh(attempt)
    assert (attempt.status, attempt.va_number, attempt.bank) == (
        AttemptStatus.PENDING,
        "12345678901",
        bank,
    )
    assert attempt.payment_type == "bank_transfer"
    assert attempt.payment_details["va_numbers"] == [{"bank": bank, "va_number": "12345678901"}]
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PENDING_PAYMENT
    # Issue 13: only the per-attempt message, once per channel.
    assert sorted(NotificationOutbox.objects.values_list("template_name", "channel")) == [
        (Template.PAYMENT_DETAILS, Channel.EMAIL),
        (Template.PAYMENT_DETAILS, Channel.WHATSAPP),
    ]
    assert Entitlement.objects.count() == 0


def test_pending_permata_va(client, attempt):
    body = midtrans_body(attempt, "pending", fraud_status=None, permata_va_number="8562000000001")
    send(client, body, "pending_recorded")
    attempt = fresh(attempt)
    assert (attempt.va_number, attempt.bank) == ("8562000000001", "permata")


def test_pending_echannel_records_bill_key_and_biller_code(client):
    attempt = PaymentAttemptFactory(payment_method="echannel")
    body = midtrans_body(
        attempt,
        "pending",
        fraud_status=None,
        payment_type="echannel",
        bill_key="123456789012",
        biller_code="70012",
    )
    send(client, body, "pending_recorded")
    attempt = fresh(attempt)
    assert (attempt.bill_key, attempt.biller_code, attempt.payment_type) == (
        "123456789012",
        "70012",
        "echannel",
    )


def test_pending_qris_keeps_the_qr_actions(client):
    attempt = PaymentAttemptFactory(payment_method="other_qris")
    actions = [
        {
            "name": "generate-qr-code",
            "method": "GET",
            "url": "https://api.sandbox.midtrans.com/v2/qris/x/qr-code",
        }
    ]
    body = midtrans_body(
        attempt,
        "pending",
        fraud_status=None,
        payment_type="qris",
        actions=actions,
        acquirer="gopay",
    )
    send(client, body, "pending_recorded")
    attempt = fresh(attempt)
    assert attempt.payment_type == "qris"
    assert attempt.payment_details["actions"] == actions
    assert attempt.payment_details["acquirer"] == "gopay"


def test_pending_details_survive_the_settlement(client, attempt):
    pending = midtrans_body(
        attempt, "pending", fraud_status=None, va_numbers=[{"bank": "bca", "va_number": "777"}]
    )
    send(client, pending, "pending_recorded")
    send(client, midtrans_body(attempt, va_numbers=[{"bank": "bca", "va_number": "777"}]), "paid")
    attempt = fresh(attempt)
    assert attempt.va_number == "777"
    assert attempt.payment_details["settlement_time"] == "2026-11-24 10:05:00"


def test_malformed_details_are_parsed_loosely(client, attempt):
    body = midtrans_body(
        attempt, "pending", fraud_status=None, va_numbers="nope", bill_key=12, new_field={"x": 1}
    )
    send(client, body, "pending_recorded")
    attempt = fresh(attempt)
    assert (attempt.va_number, attempt.bill_key) == ("", "")
    assert PaymentEvent.objects.get().raw_payload["new_field"] == {"x": 1}


# --- Money not coming ----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["deny", "failure"])
def test_deny_and_failure_fail_only_the_attempt(client, attempt, status):
    send(client, midtrans_body(attempt, status, fraud_status="deny"), "attempt_failed")
    assert fresh(attempt).status == AttemptStatus.FAILED
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PENDING_PAYMENT  # UC-006: the customer may try again
    # Issue 13: only the per-attempt message, once per channel.
    assert sorted(NotificationOutbox.objects.values_list("template_name", "channel")) == [
        (Template.PAYMENT_ATTEMPT_FAILED, Channel.EMAIL),
        (Template.PAYMENT_ATTEMPT_FAILED, Channel.WHATSAPP),
    ]
    assert Entitlement.objects.count() == 0
    assert AuditLog.objects.filter(action="order_status_changed").count() == 0


def test_cancel_fails_the_order_and_tells_the_customer(client, attempt):
    send(client, midtrans_body(attempt, "cancel", fraud_status=None), "order_failed")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.FAILED and order.failed_at is not None
    assert fresh(attempt).status == AttemptStatus.FAILED
    assert templates_of(order) == [
        (Template.PAYMENT_FAILED, Channel.EMAIL),
        (Template.PAYMENT_FAILED, Channel.WHATSAPP),
    ]
    assert Entitlement.objects.count() == 0


def test_cancel_of_an_old_attempt_leaves_the_live_one_alone(client):
    order = OrderFactory()
    old = PaymentAttemptFactory(order=order, sequence=1)
    PaymentAttemptFactory(order=order, sequence=2)
    send(client, midtrans_body(old, "cancel", fraud_status=None), "attempt_failed")
    assert Order.objects.get(pk=order.pk).status == S.PENDING_PAYMENT
    assert fresh(old).status == AttemptStatus.FAILED
    assert NotificationOutbox.objects.count() == 0


def test_expire_before_expires_at_keeps_the_order_pending(client, attempt):
    send(client, midtrans_body(attempt, "expire", fraud_status=None), "attempt_failed")
    assert fresh(attempt).status == AttemptStatus.FAILED
    assert Order.objects.get(pk=attempt.order_id).status == S.PENDING_PAYMENT
    # Issue 13: only the per-attempt message, once per channel.
    assert sorted(NotificationOutbox.objects.values_list("template_name", "channel")) == [
        (Template.PAYMENT_ATTEMPT_FAILED, Channel.EMAIL),
        (Template.PAYMENT_ATTEMPT_FAILED, Channel.WHATSAPP),
    ]


def test_expire_after_expires_at_expires_the_order(client):
    order = OrderFactory(expires_at=timezone.now() - timedelta(seconds=1))
    attempt = PaymentAttemptFactory(order=order)
    send(client, midtrans_body(attempt, "expire", fraud_status=None), "order_expired")
    order = Order.objects.get(pk=order.pk)
    assert order.status == S.EXPIRED and order.expired_at is not None
    assert templates_of(order) == [
        (Template.ORDER_EXPIRED, Channel.EMAIL),
        (Template.ORDER_EXPIRED, Channel.WHATSAPP),
    ]
    assert Entitlement.objects.count() == 0


def test_expire_with_another_live_attempt_keeps_the_order(client):
    order = OrderFactory(expires_at=timezone.now() - timedelta(seconds=1))
    old = PaymentAttemptFactory(order=order, sequence=1)
    PaymentAttemptFactory(order=order, sequence=2, status=AttemptStatus.CREATED, snap_token="")
    send(client, midtrans_body(old, "expire", fraud_status=None), "attempt_failed")
    assert Order.objects.get(pk=order.pk).status == S.PENDING_PAYMENT


def test_pending_after_deny_does_not_reopen_the_attempt(client, attempt):
    send(client, midtrans_body(attempt, "deny", fraud_status="deny"), "attempt_failed")
    send(client, midtrans_body(attempt, "pending", fraud_status=None), "ignored_stale")
    assert fresh(attempt).status == AttemptStatus.FAILED
    assert fresh(attempt).transaction_status == "deny"


# --- Money out -----------------------------------------------------------------------------


def test_refund_revokes_access(client, attempt):
    send(client, midtrans_body(attempt), "paid")
    send(client, midtrans_body(attempt, "refund", refund_amount="499000.00"), "refunded")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.REFUNDED and order.refunded_at is not None
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.REVOKED
    assert AuditLog.objects.filter(action="entitlement_revoked").count() == 1
    assert fresh(attempt).status == AttemptStatus.COMPLETED
    # A settlement redelivered after the refund does not bring access back.
    send(client, midtrans_body(attempt), "duplicate")
    send(client, midtrans_body(attempt, "capture"), "already_paid")
    assert Order.objects.get(pk=order.pk).status == S.REFUNDED


def test_refund_of_an_unpaid_order_is_not_applied_and_alerted(client, attempt):
    send(client, midtrans_body(attempt, "refund"), "refund_not_applied")
    assert Order.objects.get(pk=attempt.order_id).status == S.PENDING_PAYMENT
    assert len(ops_alerts()) == 1


def test_refund_of_a_double_payment_keeps_access(client):
    order = OrderFactory()
    first = PaymentAttemptFactory(order=order, sequence=1)
    second = PaymentAttemptFactory(order=order, sequence=2)
    send(client, midtrans_body(first), "paid")
    send(client, midtrans_body(second), "double_payment")
    send(client, midtrans_body(second, "refund"), "refund_not_applied")
    assert Order.objects.get(pk=order.pk).status == S.PAID
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.ACTIVE


@pytest.mark.parametrize("status", ["partial_refund", "chargeback"])
def test_partial_refund_and_chargeback_are_stored_and_raised_to_ops(client, attempt, status):
    send(client, midtrans_body(attempt), "paid")
    before = WorldSnapshot.take()
    send(client, midtrans_body(attempt, status, refund_amount="100000.00"), "ops_alerted")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PAID
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.ACTIVE
    after = WorldSnapshot.take()
    assert after.events == before.events + 1
    assert after.outbox == before.outbox + 1
    (alert,) = ops_alerts(order)
    assert status in alert.context["subject"]


def test_two_partial_refunds_are_two_events(client, attempt):
    send(client, midtrans_body(attempt), "paid")
    first = midtrans_body(
        attempt, "partial_refund", refund_amount="100000.00", refunds=[{"refund_amount": "1"}]
    )
    second = midtrans_body(
        attempt,
        "partial_refund",
        refund_amount="150000.00",
        refunds=[{"refund_amount": "1"}, {"refund_amount": "2"}],
    )
    send(client, first, "ops_alerted")
    send(client, second, "ops_alerted")
    send(client, second, "duplicate")
    assert len(ops_alerts()) == 2


def test_unknown_status_is_stored_only_with_one_ops_alert(client, attempt):
    body = midtrans_body(attempt, "authorize")
    send(client, body, "unrecognised_combination")
    send(client, body, "duplicate")
    assert Order.objects.get(pk=attempt.order_id).status == S.PENDING_PAYMENT
    assert PaymentEvent.objects.get().outcome == "unrecognised_combination"
    assert len(ops_alerts()) == 1


# --- Out of order (UC-013) -----------------------------------------------------------------


def test_settlement_then_pending(client, attempt):
    send(client, midtrans_body(attempt), "paid")
    send(client, midtrans_body(attempt, "pending", fraud_status=None), "ignored_order_paid")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PAID
    assert fresh(attempt).transaction_status == "settlement"
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.ACTIVE
    assert success_rows(order) == 2
    assert AuditLog.objects.filter(action="payment_event_ignored").count() == 1
    assert [e.outcome for e in PaymentEvent.objects.order_by("pk")] == [
        "paid",
        "ignored_order_paid",
    ]


def test_settlement_then_expire_after_expires_at(client):
    order = OrderFactory(expires_at=timezone.now() - timedelta(minutes=1))
    attempt = PaymentAttemptFactory(order=order)
    send(client, midtrans_body(attempt), "paid")
    send(client, midtrans_body(attempt, "expire", fraud_status=None), "ignored_order_paid")
    order = Order.objects.get(pk=order.pk)
    assert order.status == S.PAID
    assert NotificationOutbox.objects.filter(template_name=Template.ORDER_EXPIRED).count() == 0
    assert AuditLog.objects.filter(action="payment_event_ignored").count() == 1


def test_pending_arriving_after_settlement_from_an_older_attempt(client):
    order = OrderFactory()
    old = PaymentAttemptFactory(order=order, sequence=1)
    new = PaymentAttemptFactory(order=order, sequence=2)
    send(client, midtrans_body(new), "paid")
    send(client, midtrans_body(old, "pending", fraud_status=None), "ignored_order_paid")
    assert Order.objects.get(pk=order.pk).status == S.PAID


# --- Robustness ----------------------------------------------------------------------------


def test_an_unexpected_error_rolls_back_and_answers_500(client, attempt, monkeypatch):
    """Failure injection: the transition blows up after the event was inserted. Nothing may
    remain (Midtrans retries the 500), and the retry then succeeds."""
    from payments import processing as services

    def explode(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "order_transition", explode)
    body = midtrans_body(attempt)
    before = WorldSnapshot.take()
    response = post_notification(client, body)
    assert response.status_code == 500
    assert "database went away" not in response.content.decode()
    assert WorldSnapshot.take() == before

    monkeypatch.undo()
    send(client, body, "paid")


def test_missing_server_key_answers_500_not_200(client, attempt, settings):
    body = midtrans_body(attempt)
    settings.MIDTRANS_SERVER_KEY = ""
    before = WorldSnapshot.take()
    assert post_notification(client, body).status_code == 500
    assert WorldSnapshot.take() == before


def test_reconciliation_source_with_the_same_fact_is_a_duplicate(client, attempt):
    body = midtrans_body(attempt)
    send(client, body, "paid")
    result = payment_notification_process(
        payload=body, source=EventSource.RECONCILIATION, remote_ip=None
    )
    assert result.outcome == Outcome.DUPLICATE
    assert PaymentEvent.objects.count() == 1


def test_reconciliation_source_applies_with_its_actor(attempt):
    result = payment_notification_process(
        payload=midtrans_body(attempt),
        source=EventSource.RECONCILIATION,
        remote_ip=None,
        actor="staff:rina",
    )
    assert result.outcome == Outcome.PAID and result.order_status == S.PAID
    event = PaymentEvent.objects.get()
    assert event.source == EventSource.RECONCILIATION and event.remote_ip is None
    row = AuditLog.objects.get(action="order_status_changed")
    assert row.actor == "staff:rina"


def test_reconciliation_answers_are_verified_like_webhooks(attempt):
    body = midtrans_body(attempt, server_key="SB-Mid-server-SOMEONE-ELSE")
    with pytest.raises(NotificationRejected) as info:
        payment_notification_process(
            payload=body, source=EventSource.RECONCILIATION, remote_ip=None
        )
    assert info.value.reason == "invalid_signature"
    assert PaymentEvent.objects.count() == 0
    assert Order.objects.get(pk=attempt.order_id).status == S.PENDING_PAYMENT


def test_idempotency_key_is_documented_shape(client, attempt):
    send(client, midtrans_body(attempt), "paid")
    event = PaymentEvent.objects.get()
    assert event.idempotency_key == (
        f"{event.transaction_id}:settlement:accept:200:{attempt.amount}.00"
    )
    assert settings.MIDTRANS_SERVER_KEY not in str(event.raw_payload)


@pytest.mark.django_db(transaction=True)
def test_the_success_messages_are_handed_to_workers_after_the_answer_went_out(monkeypatch):
    """The settlement's outbox rows are committed before the answer; publishing their task
    (one broker round trip for both rows) waits until the server closes the response."""
    import json
    from io import BytesIO

    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    from notifications.tasks import deliver_outbox_messages

    published: list[list[int]] = []
    monkeypatch.setattr(deliver_outbox_messages, "delay", published.append)
    attempt = PaymentAttemptFactory()
    raw = json.dumps(midtrans_body(attempt, "settlement")).encode()
    environ = (
        RequestFactory()
        .post("/payments/midtrans/notification/", data=raw, content_type="application/json")
        .environ
    )
    environ["wsgi.input"] = BytesIO(raw)

    answer = WSGIHandler()(environ, lambda status, headers: None)
    body = b"".join(answer)

    assert json.loads(body)["outcome"] == "paid"
    rows = NotificationOutbox.objects.filter(template_name=Template.PAYMENT_SUCCESS_ACCESS)
    assert rows.count() == 2  # committed with the payment
    assert published == []
    answer.close()  # what the WSGI server does once the body is written
    assert len(published) == 1  # one task message for the email and the WhatsApp
    assert sorted(published[0]) == sorted(rows.values_list("pk", flat=True))
