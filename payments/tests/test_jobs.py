"""Payments side of the scheduled jobs: the Midtrans expire call after the scheduler expired an
order, and the reconcile task, through the real simulator over HTTP."""

from datetime import timedelta

import pytest

from orders.models import Order, OrderStatus
from orders.tests.lifecycle import move, order_in
from payments.models import AttemptStatus
from payments.reconciliation import payment_expire_at_midtrans
from payments.tasks import reconcile_payments
from payments.tests.factories import PaymentAttemptFactory
from supportdesk.models import AuditLog

S = OrderStatus
pytestmark = pytest.mark.django_db


def start_snap_transaction(attempt) -> None:
    """Create the attempt's transaction at the simulator through the real client, as checkout
    would, and keep its token (reconciliation only asks about attempts that reached Snap)."""
    from payments.midtrans import get_gateway

    answer = get_gateway().create_snap_transaction(
        {
            "transaction_details": {
                "order_id": attempt.midtrans_order_id,
                "gross_amount": attempt.amount,
            },
            "enabled_payments": ["bca_va"],
        }
    )
    attempt.snap_token = answer["token"]
    attempt.save(update_fields=["snap_token"])


def expired_order_with_sim_transaction(midtrans_sim, *, choose: bool):
    order = order_in(S.PENDING_PAYMENT)
    attempt = order.attempts.first() or PaymentAttemptFactory(order=order)
    sim = midtrans_sim.simulator

    start_snap_transaction(attempt)
    if choose:
        sim.customer_action(attempt.midtrans_order_id, "choose")
    move(order, S.EXPIRED)
    return order, attempt


def test_expire_call_closes_a_started_transaction(midtrans_sim):
    order, attempt = expired_order_with_sim_transaction(midtrans_sim, choose=True)
    result = payment_expire_at_midtrans(order_id=order.order_id)
    assert result.expired == [attempt.midtrans_order_id]
    assert midtrans_sim.simulator.transaction(attempt.midtrans_order_id)["transaction_status"] == (
        "expire"
    )


def test_expire_call_treats_not_started_as_fine(midtrans_sim):
    order, attempt = expired_order_with_sim_transaction(midtrans_sim, choose=False)
    result = payment_expire_at_midtrans(order_id=order.order_id)
    assert result.expired + result.not_started == [attempt.midtrans_order_id]
    assert Order.objects.get(pk=order.pk).status == S.EXPIRED


def test_already_settled_transaction_becomes_a_late_payment(midtrans_sim):
    order, attempt = expired_order_with_sim_transaction(midtrans_sim, choose=True)
    # The customer paid at Midtrans but the notification never reached us.
    midtrans_sim.simulator.notification_url = "http://127.0.0.1:9/unreachable"
    midtrans_sim.simulator.customer_action(attempt.midtrans_order_id, "pay")

    result = payment_expire_at_midtrans(order_id=order.order_id)

    assert result.already_final == [attempt.midtrans_order_id]
    order.refresh_from_db()
    assert order.status == S.PAID
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.COMPLETED


def test_nothing_happens_for_an_order_that_is_not_expired(midtrans_sim):
    order = order_in(S.PENDING_PAYMENT)
    result = payment_expire_at_midtrans(order_id=order.order_id)
    assert result.expired == result.not_started == result.already_final == []
    assert not midtrans_sim.simulator.requests_log


def test_reconcile_task_turns_a_settled_pending_order_paid(midtrans_sim, settings):
    settings.RECONCILE_AFTER_MINUTES = 0
    order = order_in(S.PENDING_PAYMENT)
    attempt = PaymentAttemptFactory(order=order)

    start_snap_transaction(attempt)
    midtrans_sim.simulator.notification_url = "http://127.0.0.1:9/unreachable"
    midtrans_sim.simulator.customer_action(attempt.midtrans_order_id, "pay")
    Order.objects.filter(pk=order.pk).update(created_at=order.created_at - timedelta(minutes=30))

    line = reconcile_payments()

    assert "0 failed" in line
    assert Order.objects.get(pk=order.pk).status == S.PAID
    # Reached through the processing path: the transition is audited as reconciliation's.
    paid = AuditLog.objects.get(entity_id=order.order_id, new_value__status="PAID")
    assert paid.actor == "system:reconciliation"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_reconcile_runs_pay_each_order_once(midtrans_sim, settings):
    from buatfilm.testing import run_concurrently
    from courses.models import Entitlement
    from notifications.models import NotificationOutbox, Template
    from payments.reconciliation import payment_reconcile_due
    from supportdesk.models import AuditLog

    settings.RECONCILE_AFTER_MINUTES = 0
    midtrans_sim.simulator.notification_url = "http://127.0.0.1:9/unreachable"
    orders = []
    for _ in range(5):
        order = order_in(S.PENDING_PAYMENT)
        attempt = PaymentAttemptFactory(order=order)
        start_snap_transaction(attempt)
        midtrans_sim.simulator.customer_action(attempt.midtrans_order_id, "pay")
        orders.append(order)

    results = run_concurrently([payment_reconcile_due, payment_reconcile_due])

    assert not any(isinstance(r, Exception) for r in results), results
    for order in orders:
        assert Order.objects.get(pk=order.pk).status == S.PAID
        assert (
            AuditLog.objects.filter(entity_id=order.order_id, new_value__status="PAID").count() == 1
        )
        assert Entitlement.objects.filter(order=order).count() == 1
        assert (
            NotificationOutbox.objects.filter(
                order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
            ).count()
            == 2
        )
