"""The documented (source, transaction_status, fraud_status, status_code) -> action table, and
the paths it opens: a real capture challenge (201), re-labelled bodies, GET-status codes (407
expired, 200 cancelled), and a settlement later denied (reversal)."""

import pytest

from courses.models import Entitlement
from notifications.models import NotificationOutbox, Template
from orders.models import Order, OrderStatus
from payments.models import AttemptStatus, EventSource, PaymentAttempt
from payments.parsing import STATUS_TABLE, Action, status_action
from payments.processing import Outcome, payment_notification_process
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body, ops_alerts, post_notification
from supportdesk.models import AuditLog

S = OrderStatus
WEBHOOK = EventSource.WEBHOOK
RECON = EventSource.RECONCILIATION


@pytest.mark.parametrize(
    ("source", "status", "fraud", "code", "action"),
    [
        (WEBHOOK, "settlement", "", "200", Action.PAID),
        (WEBHOOK, "settlement", "accept", "200", Action.PAID),
        (WEBHOOK, "settlement", "challenge", "200", Action.UNRECOGNISED),
        (WEBHOOK, "settlement", "", "201", Action.UNRECOGNISED),
        (WEBHOOK, "capture", "accept", "200", Action.PAID),
        (WEBHOOK, "capture", "challenge", "201", Action.CHALLENGE),
        (WEBHOOK, "capture", "challenge", "200", Action.UNRECOGNISED),
        (WEBHOOK, "pending", "", "201", Action.PENDING),
        (WEBHOOK, "pending", "", "200", Action.UNRECOGNISED),
        (WEBHOOK, "cancel", "", "202", Action.CANCEL),
        (WEBHOOK, "cancel", "", "201", Action.UNRECOGNISED),
        (WEBHOOK, "expire", "", "202", Action.EXPIRE),
        (WEBHOOK, "expire", "", "407", Action.UNRECOGNISED),
        (WEBHOOK, "deny", "deny", "202", Action.DENY),
        (WEBHOOK, "failure", "", "202", Action.FAILURE),
        (WEBHOOK, "refund", "accept", "200", Action.REFUND),
        (WEBHOOK, "refund", "", "201", Action.UNRECOGNISED),
        (WEBHOOK, "partial_refund", "", "200", Action.OPS_ONLY),
        (WEBHOOK, "authorize", "accept", "200", Action.UNRECOGNISED),
        (RECON, "expire", "", "407", Action.EXPIRE),
        (RECON, "expire", "", "202", Action.UNRECOGNISED),
        (RECON, "cancel", "accept", "200", Action.CANCEL),
        (RECON, "cancel", "", "202", Action.UNRECOGNISED),
        (RECON, "settlement", "", "200", Action.PAID),
        (RECON, "pending", "accept", "201", Action.PENDING),
    ],
)
def test_status_action(source, status, fraud, code, action):
    got = status_action(
        source=source, transaction_status=status, fraud_status=fraud, status_code=code
    )
    assert got == action


def test_every_row_has_codes_for_both_sources():
    for row in STATUS_TABLE:
        assert row.webhook_codes and row.status_api_codes, row


pytestmark = pytest.mark.django_db


def send(client, body, outcome):
    response = post_notification(client, body)
    assert response.status_code == 200
    assert response.json()["outcome"] == outcome, response.json()
    return response


def test_real_capture_challenge_201_needs_review_and_raises_a_fraud_alert(client):
    attempt = PaymentAttemptFactory(payment_method="credit_card")
    body = midtrans_body(attempt, "capture", fraud_status="challenge", payment_type="credit_card")
    assert body["status_code"] == "201"
    send(client, body, "needs_review")
    attempt.refresh_from_db()
    assert attempt.needs_review is True
    (alert,) = ops_alerts()
    assert alert.dedupe_key == f"fraud_challenge:{attempt.midtrans_order_id}"
    assert Order.objects.get(pk=attempt.order_id).status == S.PENDING_PAYMENT


def test_reconciliation_applies_get_status_codes_407_and_200(settings):
    expired = PaymentAttemptFactory()
    Order.objects.filter(pk=expired.order_id).update(expires_at=expired.order.created_at)
    body = midtrans_body(expired, "expire", status_code="407", fraud_status=None)
    result = payment_notification_process(payload=body, source=RECON, remote_ip=None)
    assert result.outcome == Outcome.ORDER_EXPIRED

    cancelled = PaymentAttemptFactory()
    body = midtrans_body(cancelled, "cancel", status_code="200")
    result = payment_notification_process(payload=body, source=RECON, remote_ip=None)
    assert result.outcome == Outcome.ORDER_FAILED


def test_settlement_then_deny_is_a_reversal_alert_and_the_order_stays_paid(client):
    attempt = PaymentAttemptFactory(payment_method="permata_va")
    send(client, midtrans_body(attempt, fraud_status=None, permata_va_number="8778"), "paid")
    deny = midtrans_body(attempt, "deny", fraud_status=None)
    send(client, deny, "reversal_alerted")
    send(client, deny, "duplicate")

    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PAID
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.ACTIVE
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.COMPLETED
    (alert,) = ops_alerts(order)
    assert order.order_id in alert.context["message"]
    assert "bank_transfer (permata)" in alert.context["message"]
    assert AuditLog.objects.filter(action="payment_reversal", entity_id=order.order_id).exists()
    # No customer message beyond the payment success ones.
    customer = NotificationOutbox.objects.filter(order=order).exclude(
        template_name=Template.OPS_ALERT
    )
    assert set(customer.values_list("template_name", flat=True)) == {
        Template.PAYMENT_SUCCESS_ACCESS
    }
