"""Concurrent transitions on PostgreSQL: the row lock lets exactly one win."""

import pytest

from buatfilm.testing import run_concurrently
from courses.models import Entitlement
from notifications.models import NotificationOutbox, Template
from orders.models import Order, OrderStatus
from orders.services import OrderTransitionError, order_transition
from orders.tests.factories import OrderFactory
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory
from supportdesk.models import AuditLog

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_threads_paying_the_same_order_make_one_transition():
    order = OrderFactory(status=OrderStatus.PENDING_PAYMENT)
    attempt = PaymentAttemptFactory(order=order)
    events = [PaymentEventFactory(attempt=attempt) for _ in range(2)]

    results = run_concurrently(
        [
            lambda e=e: order_transition(
                order_id=order.order_id, to_status=OrderStatus.PAID, actor="t", payment_event=e
            )
            for e in events
        ]
    )

    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1
    assert isinstance(failures[0], OrderTransitionError)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert (
        AuditLog.objects.filter(
            entity_id=order.order_id, action="order_status_changed", new_value__status="PAID"
        ).count()
        == 1
    )
    assert Entitlement.objects.filter(order=order).count() == 1
    assert (
        NotificationOutbox.objects.filter(
            order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
        ).count()
        == 2
    )


def test_payment_racing_expiry_never_loses_the_payment():
    order = OrderFactory(status=OrderStatus.PENDING_PAYMENT)
    event = PaymentEventFactory(attempt=PaymentAttemptFactory(order=order))

    def pay():
        return order_transition(
            order_id=order.order_id, to_status=OrderStatus.PAID, actor="w", payment_event=event
        )

    def expire():
        return order_transition(
            order_id=order.order_id,
            to_status=OrderStatus.EXPIRED,
            actor="scheduler",
            now=order.expires_at,
        )

    paid, expired = run_concurrently([pay, expire])

    order.refresh_from_db()
    # Whatever the order of the two, the settlement wins: PAID directly (expiry refused), or
    # EXPIRED then PAID as a late payment. The payment is never refused.
    assert not isinstance(paid, Exception)
    assert order.status == OrderStatus.PAID
    transitions = AuditLog.objects.filter(entity_id=order.order_id, action="order_status_changed")
    if isinstance(expired, Exception):
        assert transitions.count() == 1
    else:
        assert transitions.count() == 2
        assert AuditLog.objects.filter(entity_id=order.order_id, action="late_payment").exists()
    assert Entitlement.objects.filter(order=order, status="ACTIVE").count() == 1
