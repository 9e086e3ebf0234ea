"""Offline refunds (money returned outside Midtrans): a `record_refund` permission, the order
admin form, REFUNDED through the state machine, access revoked, customer told, the staff user
audited; never a way to PAID."""

import pytest
from django.urls import reverse

from courses.models import Entitlement
from notifications.models import NotificationOutbox, Template
from orders.models import Order, OrderStatus
from orders.services import TransitionGuardFailed, order_transition
from orders.tests.lifecycle import order_in
from payments.models import EventSource, PaymentEvent
from payments.refunds import RefundNotAllowed, refund_record_offline
from supportdesk.models import AuditLog
from supportdesk.services import SupportPermissionDenied, support_record_refund
from supportdesk.tests.conftest import make_staff

pytestmark = pytest.mark.django_db
S = OrderStatus
STAFF_IP = "203.0.113.9"


@pytest.fixture
def refunder(db):
    user = make_staff("dina", groups=("Support",))
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="record_refund"))
    return type(user).objects.get(pk=user.pk)


def refund_url(order: Order) -> str:
    return reverse("admin:orders_order_refund", args=[order.order_id])


def test_staff_with_record_refund_refunds_a_paid_order_from_the_admin(client, refunder):
    order = order_in(S.PAID)
    client.force_login(refunder)
    page = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    assert refund_url(order) in page.content.decode()

    response = client.post(
        refund_url(order),
        {
            "amount": order.final_amount,
            "reference": "TRF-BCA-0099",
            "reason": "Pelanggan salah beli paket",
            "confirm": "on",
        },
        REMOTE_ADDR=STAFF_IP,
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.REVOKED
    told = NotificationOutbox.objects.filter(order=order, template_name=Template.ORDER_REFUNDED)
    assert sorted(told.values_list("channel", flat=True)) == ["EMAIL", "WHATSAPP"]
    transition = AuditLog.objects.get(
        entity_id=order.order_id, action="order_status_changed", new_value__status=S.REFUNDED
    )
    assert transition.actor == "staff:dina"
    recorded = AuditLog.objects.get(action="offline_refund_recorded")
    assert (recorded.actor, recorded.ip_address) == ("staff:dina", STAFF_IP)
    assert recorded.new_value["reference"] == "TRF-BCA-0099"
    event = PaymentEvent.objects.get(source=EventSource.OFFLINE_REFUND)
    assert event.raw_payload["reason"] == "Pelanggan salah beli paket"


def test_support_without_the_permission_sees_no_button_and_gets_403(client, support_user):
    order = order_in(S.PAID)
    client.force_login(support_user)
    page = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    assert refund_url(order) not in page.content.decode()
    response = client.post(
        refund_url(order),
        {"amount": order.final_amount, "reference": "x", "reason": "y", "confirm": "on"},
    )
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == S.PAID
    with pytest.raises(SupportPermissionDenied):
        support_record_refund(
            order_id=order.order_id,
            user=support_user,
            amount=order.final_amount,
            reference="x",
            reason="y",
            ip_address=None,
        )


@pytest.mark.parametrize("status", [S.PENDING_PAYMENT, S.EXPIRED, S.FAILED, S.REFUNDED])
def test_only_a_paid_order_can_be_refunded(status):
    order = order_in(status)
    with pytest.raises(RefundNotAllowed):
        refund_record_offline(
            order_id=order.order_id,
            amount=order.final_amount,
            reference="TRF-1",
            reason="x",
            actor="staff:dina",
        )
    assert Order.objects.get(pk=order.pk).status == status


def test_a_partial_amount_or_missing_reference_is_refused_on_the_form(client, refunder):
    order = order_in(S.PAID)
    client.force_login(refunder)
    response = client.post(
        refund_url(order),
        {"amount": order.final_amount - 1, "reference": "T", "reason": "r", "confirm": "on"},
    )
    assert response.status_code == 200
    assert "Refund sebagian" in response.content.decode()
    response = client.post(
        refund_url(order), {"amount": order.final_amount, "reason": "r", "confirm": "on"}
    )
    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == S.PAID
    assert not PaymentEvent.objects.filter(source=EventSource.OFFLINE_REFUND).exists()


def test_an_offline_refund_event_can_never_make_an_order_paid():
    paid = order_in(S.PAID)
    refund_record_offline(
        order_id=paid.order_id,
        amount=paid.final_amount,
        reference="TRF-2",
        reason="x",
        actor="staff:dina",
    )
    event = PaymentEvent.objects.get(source=EventSource.OFFLINE_REFUND)
    other = order_in(S.PENDING_PAYMENT)
    # Even re-labelled as a settlement for another order, a staff-recorded event is no payment.
    PaymentEvent.objects.filter(pk=event.pk).update(
        transaction_status="settlement", order=other, fraud_status="accept"
    )
    event.refresh_from_db()
    with pytest.raises(TransitionGuardFailed):
        order_transition(
            order_id=other.order_id, to_status=S.PAID, actor="staff:dina", payment_event=event
        )
    assert Order.objects.get(pk=other.pk).status == S.PENDING_PAYMENT
