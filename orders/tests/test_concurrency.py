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


def test_two_orders_of_the_same_package_transition_without_waiting_for_each_other():
    """A transition locks its order row only: the Package and Course rows every order shares
    stay unlocked, so order B moves while order A's transition is still open."""
    import threading

    from django.db import connection, transaction

    first = OrderFactory(status=OrderStatus.PENDING_PAYMENT)
    second = OrderFactory(status=OrderStatus.PENDING_PAYMENT, package=first.package)
    events = {
        order.order_id: PaymentEventFactory(attempt=PaymentAttemptFactory(order=order))
        for order in (first, second)
    }
    package, course = first.package, first.package.course
    a_holds, release_a = threading.Event(), threading.Event()

    def pay(order: Order) -> None:
        order_transition(
            order_id=order.order_id,
            to_status=OrderStatus.PAID,
            actor="t",
            payment_event=events[order.order_id],
        )

    def a() -> str:
        with transaction.atomic():
            pay(first)
            a_holds.set()
            assert release_a.wait(timeout=60), "never released"
        return "a"

    def b() -> str:
        assert a_holds.wait(timeout=60), "A never started"
        try:
            with transaction.atomic():
                # While A's transaction is open: nobody holds the shared rows for update…
                with connection.cursor() as cursor:
                    for table, pk in (
                        ("courses_package", package.pk),
                        ("courses_course", course.pk),
                    ):
                        cursor.execute(
                            f"SELECT 1 FROM {table} WHERE id = %s FOR NO KEY UPDATE NOWAIT",  # noqa: S608
                            [pk],
                        )
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                # …and B's whole transition commits before A's.
                pay(second)
            return "b"
        finally:
            release_a.set()

    results = run_concurrently([a, b])
    assert results == ["a", "b"], results
    assert set(
        Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    ) == {OrderStatus.PAID}
    assert Entitlement.objects.filter(order__in=[first, second]).count() == 2
