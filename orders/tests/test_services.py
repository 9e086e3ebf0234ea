"""The order state machine: every legal move, every illegal one, guards and side effects."""

from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from courses.models import Entitlement
from notifications.models import Channel, NotificationOutbox, Template
from orders.checkout import generate_order_id
from orders.models import Order, OrderStatus
from orders.services import (
    ALLOWED_TRANSITIONS,
    IllegalTransition,
    TransitionGuardFailed,
    order_transition,
)
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import ACTOR, event_for, move, order_in
from supportdesk.models import AuditLog

S = OrderStatus
pytestmark = pytest.mark.django_db


def outbox(order: Order, template: str) -> set[str]:
    return set(
        NotificationOutbox.objects.filter(order=order, template_name=template).values_list(
            "channel", flat=True
        )
    )


LEGAL = sorted((src, dst) for src, targets in ALLOWED_TRANSITIONS.items() for dst in targets)
ILLEGAL = sorted(
    (src, dst) for src, dst in product(S.values, S.values) if dst not in ALLOWED_TRANSITIONS[src]
)


def test_table_matches_spec():
    assert (
        sorted(
            [
                (S.CREATED, S.PENDING_PAYMENT),
                (S.CREATED, S.FAILED),
                (S.PENDING_PAYMENT, S.PAID),
                (S.PENDING_PAYMENT, S.EXPIRED),
                (S.PENDING_PAYMENT, S.FAILED),
                (S.EXPIRED, S.PAID),
                (S.FAILED, S.PAID),
                (S.PAID, S.REFUNDED),
            ]
        )
        == LEGAL
    )


@pytest.mark.parametrize(("src", "dst"), LEGAL)
def test_every_legal_move_changes_status_and_audits(src, dst):
    order = order_in(src)
    transitions = AuditLog.objects.filter(entity_id=order.order_id, action="order_status_changed")
    audits_before = transitions.count()

    result = move(order, dst)

    order.refresh_from_db()
    assert (result.from_status, result.to_status) == (src, dst)
    assert order.status == dst
    audit = transitions.first()
    assert audit is not None
    assert audit.old_value == {"status": src}
    assert audit.new_value["status"] == dst
    assert audit.actor == ACTOR
    assert transitions.count() == audits_before + 1


@pytest.mark.parametrize(("src", "dst"), ILLEGAL)
def test_every_illegal_move_raises_and_changes_nothing(src, dst):
    order = order_in(src)
    snapshot = Order.objects.filter(pk=order.pk).values().get()
    audit_count = AuditLog.objects.count()
    outbox_count = NotificationOutbox.objects.count()
    entitlement_count = Entitlement.objects.count()

    with pytest.raises(IllegalTransition):
        move(order, dst)

    assert Order.objects.filter(pk=order.pk).values().get() == snapshot
    assert AuditLog.objects.count() == audit_count
    assert NotificationOutbox.objects.count() == outbox_count
    assert Entitlement.objects.count() == entitlement_count


def test_entering_pending_queues_payment_instructions_once_per_channel():
    order = order_in(S.PENDING_PAYMENT)
    assert outbox(order, Template.PAYMENT_INSTRUCTION) == {Channel.EMAIL, Channel.WHATSAPP}
    email = NotificationOutbox.objects.get(order=order, channel=Channel.EMAIL)
    assert email.recipient == order.customer_email
    assert email.context["amount_display"] == "Rp 499.000"
    assert email.context["status_url"].endswith(f"?key={order.access_key}")


def test_entering_paid_grants_entitlement_and_queues_success():
    order = order_in(S.PENDING_PAYMENT)
    move(order, S.PAID)
    order.refresh_from_db()

    assert order.paid_at is not None
    entitlement = Entitlement.objects.get(order=order)
    assert entitlement.status == Entitlement.Status.ACTIVE
    assert entitlement.user.email == order.customer_email
    assert outbox(order, Template.PAYMENT_SUCCESS_ACCESS) == {Channel.EMAIL, Channel.WHATSAPP}
    success = NotificationOutbox.objects.get(
        order=order, channel=Channel.WHATSAPP, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    assert success.recipient == order.customer_phone
    assert "/login/" in success.context["login_url"]
    assert not AuditLog.objects.filter(action="late_payment").exists()


@pytest.mark.parametrize("late_from", [S.EXPIRED, S.FAILED])
def test_late_settlement_grants_access_audits_and_alerts_ops(late_from):
    order = order_in(late_from)
    move(order, S.PAID)

    assert Entitlement.objects.filter(order=order, status="ACTIVE").exists()
    assert AuditLog.objects.filter(action="late_payment", entity_id=order.order_id).exists()
    alert = NotificationOutbox.objects.get(template_name=Template.OPS_ALERT, order=order)
    assert alert.recipient == "ops@buatfilm.local"
    assert order.order_id in alert.context["subject"]


def test_entering_expired_and_failed_queue_their_messages():
    expired = order_in(S.EXPIRED)
    failed = order_in(S.FAILED)
    assert outbox(expired, Template.ORDER_EXPIRED) == {Channel.EMAIL, Channel.WHATSAPP}
    assert outbox(failed, Template.PAYMENT_FAILED) == {Channel.EMAIL, Channel.WHATSAPP}
    assert Order.objects.get(pk=expired.pk).expired_at is not None
    assert Order.objects.get(pk=failed.pk).failed_at is not None


def test_abandoned_created_order_fails_without_customer_message():
    order = order_in(S.CREATED)
    move(order, S.FAILED, reason="snap_unreachable")
    assert not NotificationOutbox.objects.filter(order=order).exists()


def test_refund_revokes_entitlement():
    order = order_in(S.REFUNDED)
    entitlement = Entitlement.objects.get(order=order)
    assert entitlement.status == Entitlement.Status.REVOKED
    assert entitlement.revoked_at is not None
    assert AuditLog.objects.filter(action="entitlement_revoked").count() == 1


def test_paid_needs_a_verified_confirming_event():
    order = order_in(S.PENDING_PAYMENT)
    with pytest.raises(TransitionGuardFailed):
        order_transition(order_id=order.order_id, to_status=S.PAID, actor="staff:eve")
    with pytest.raises(TransitionGuardFailed):
        move(order, S.PAID, payment_event=event_for(order, signature_valid=False))
    with pytest.raises(TransitionGuardFailed):
        move(order, S.PAID, payment_event=event_for(order, "pending", status_code="201"))
    with pytest.raises(TransitionGuardFailed):
        move(order, S.PAID, payment_event=event_for(order, "capture", fraud_status="challenge"))
    other = order_in(S.PENDING_PAYMENT)
    with pytest.raises(TransitionGuardFailed):
        move(order, S.PAID, payment_event=event_for(other))

    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    assert not Entitlement.objects.filter(order=order).exists()


def test_capture_accept_confirms_payment():
    order = order_in(S.PENDING_PAYMENT)
    move(order, S.PAID, payment_event=event_for(order, "capture", fraud_status="accept"))
    assert Order.objects.get(pk=order.pk).status == S.PAID


def test_refund_needs_a_refund_event():
    order = order_in(S.PAID)
    with pytest.raises(TransitionGuardFailed):
        move(order, S.REFUNDED, payment_event=event_for(order, "settlement"))
    assert Order.objects.get(pk=order.pk).status == S.PAID


def test_expiry_guard_respects_expires_at_boundary():
    order = order_in(S.PENDING_PAYMENT)
    with pytest.raises(TransitionGuardFailed):
        move(order, S.EXPIRED, now=order.expires_at - timedelta(microseconds=1))
    move(order, S.EXPIRED, now=order.expires_at)
    assert Order.objects.get(pk=order.pk).status == S.EXPIRED


def test_second_paid_is_illegal_and_creates_nothing():
    order = order_in(S.PAID)
    with pytest.raises(IllegalTransition):
        move(order, S.PAID)
    assert Entitlement.objects.filter(order=order).count() == 1
    assert (
        NotificationOutbox.objects.filter(
            order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
        ).count()
        == 2
    )


def test_unknown_order_raises():
    with pytest.raises(Order.DoesNotExist):
        order_transition(order_id="BF-nope", to_status=S.PAID, actor=ACTOR)


def test_order_ids_are_readable_and_distinct():
    now = timezone.now()
    ids = {generate_order_id(now) for _ in range(200)}
    assert len(ids) == 200
    day = timezone.localtime(now).strftime("%Y%m%d")
    for order_id in ids:
        prefix, date, suffix = order_id.split("-")
        assert (prefix, date, len(suffix)) == ("BF", day, 6)
        assert not set(suffix) & set("01OI")


def test_access_keys_are_long_random_and_unique():
    a, b = OrderFactory(), OrderFactory()
    assert a.access_key != b.access_key
    assert len(a.access_key) >= 43  # 32 random bytes, base64url
