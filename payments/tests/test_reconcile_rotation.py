"""Reconciliation that never starves: pending orders first with their own budget, recently
closed ones after with theirs, a `last_reconciled_at` rotation, final attempts not asked
again, and DANA asked by transaction_id (never expired at Midtrans)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from courses.tests.factories import PackageFactory
from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.tests.factories import OrderFactory
from payments.midtrans import get_gateway
from payments.models import PaymentAttempt
from payments.reconciliation import (
    NO_TRANSACTION_ID,
    Outcome,
    payment_expire_at_midtrans,
    payment_reconcile_due,
    payment_reconcile_order,
)
from payments.tests.factories import PaymentAttemptFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
S = OrderStatus


@pytest.fixture
def sim(midtrans_sim):
    midtrans_sim.simulator.notification_url = None  # every webhook is lost
    return midtrans_sim


def snap_attempt(order: Order, methods: list[str], sequence: int = 1) -> PaymentAttempt:
    midtrans_order_id = f"{order.order_id}-{sequence}"
    answer = get_gateway().create_snap_transaction(
        {
            "transaction_details": {
                "order_id": midtrans_order_id,
                "gross_amount": order.final_amount,
            },
            "enabled_payments": methods,
        }
    )
    return PaymentAttemptFactory(
        order=order,
        sequence=sequence,
        midtrans_order_id=midtrans_order_id,
        payment_method=methods[0],
        snap_token=answer["token"],
        redirect_url=answer["redirect_url"],
    )


def expired_orders(count: int, *, package=None) -> list[str]:
    """`count` orders that expired within the last hour, created two days ago (so they sort
    before any pending order by creation), each with an attempt that reached Snap."""
    package = package or PackageFactory()
    now = timezone.now()
    ids = []
    for _ in range(count):
        order = OrderFactory(package=package, expires_at=now - timedelta(minutes=5))
        PaymentAttemptFactory(order=order)
        order_transition(order_id=order.order_id, to_status=S.EXPIRED, actor="system:scheduler")
        ids.append(order.order_id)
    Order.objects.filter(pk__in=ids).update(created_at=now - timedelta(hours=50))
    return ids


def asked(summary) -> set[str]:
    return {r.order_id for r in summary.attempts}


def test_a_pending_order_with_a_lost_settlement_is_found_in_the_first_run_despite_1000_expired(
    sim, settings
):
    settings.RECONCILE_BATCH_SIZE = 200
    settings.RECONCILE_RECENT_BATCH_SIZE = 200
    expired = set(expired_orders(1000))
    pending = OrderFactory()
    attempt = snap_attempt(pending, ["bca_va"])
    sim.simulator.customer_action(attempt.midtrans_order_id, "pay", "bca_va")
    Order.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(minutes=30))

    first = payment_reconcile_due()

    assert Order.objects.get(pk=pending.pk).status == S.PAID
    assert [r.result for r in first.attempts if r.order_id == pending.order_id] == [Outcome.PAID]
    first_expired = asked(first) & expired
    assert len(first_expired) == 200
    # The rotation: the next run asks 200 others, not the same ones again.
    second = payment_reconcile_due()
    assert pending.order_id not in asked(second)
    assert len(asked(second) & expired) == 200
    assert not asked(second) & first_expired


def test_every_recent_candidate_is_asked_within_ceil_n_over_budget_runs(sim, settings):
    settings.RECONCILE_RECENT_BATCH_SIZE = 2
    expired = set(expired_orders(5))
    seen: set[str] = set()
    for _ in range(3):  # ceil(5 / 2)
        seen |= asked(payment_reconcile_due())
    assert seen == expired


def test_asking_stamps_the_order_for_the_rotation_without_making_it_recent(sim):
    [order_id] = expired_orders(1)
    Order.objects.filter(pk=order_id).update(updated_at=timezone.now() - timedelta(hours=1))
    before = Order.objects.get(pk=order_id)
    assert before.last_reconciled_at is None

    payment_reconcile_due()

    after = Order.objects.get(pk=order_id)
    assert after.last_reconciled_at is not None
    # `updated_at` says when the order changed: being asked about is not a change, or the
    # "closed in the last 48 h" group would keep every asked order forever.
    assert after.updated_at == before.updated_at


def test_final_attempts_are_not_asked_again(sim):
    order = OrderFactory(expires_at=timezone.now() - timedelta(minutes=1))
    attempt = snap_attempt(order, ["bca_va"])
    sim.simulator.customer_action(attempt.midtrans_order_id, "expire", "bca_va")
    order_transition(order_id=order.order_id, to_status=S.EXPIRED, actor="system:scheduler")

    first = payment_reconcile_due()
    assert [r.result for r in first.attempts] == [Outcome.ATTEMPT_FAILED]
    assert PaymentAttempt.objects.get(pk=attempt.pk).transaction_status == "expire"
    requests_before = len(sim.simulator.requests_log)

    second = payment_reconcile_due()

    assert second.orders == 0 and second.attempts == []
    assert len(sim.simulator.requests_log) == requests_before


def test_dana_is_reconciled_by_transaction_id(sim):
    order = OrderFactory(payment_method="dana")
    attempt = snap_attempt(order, ["dana"])
    (pending,) = sim.simulator.customer_action(attempt.midtrans_order_id, "choose", "dana")
    # The pending notification was received (transaction_id stored), the settlement was lost.
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        midtrans_transaction_id=pending["payload"]["transaction_id"]
    )
    sim.simulator.customer_action(attempt.midtrans_order_id, "pay", "dana")

    results = payment_reconcile_order(order_id=order.order_id, actor="system:reconciliation")

    assert [r.result for r in results] == [Outcome.PAID]
    assert Order.objects.get(pk=order.pk).status == S.PAID
    paths = [r["path"] for r in sim.simulator.requests_log if r["method"] == "GET"]
    assert paths == [f"/v2/{pending['payload']['transaction_id']}/status"]


def test_dana_without_a_transaction_id_is_not_asked_by_order_id(sim):
    order = OrderFactory(payment_method="dana")
    snap_attempt(order, ["dana"])

    results = payment_reconcile_order(order_id=order.order_id, actor="system:reconciliation")

    assert [r.result for r in results] == [NO_TRANSACTION_ID]
    assert [r["method"] for r in sim.simulator.requests_log] == ["POST"]  # only Snap


def test_no_expire_call_for_dana(sim):
    order = OrderFactory(payment_method="dana", expires_at=timezone.now() - timedelta(minutes=1))
    dana = snap_attempt(order, ["dana"], sequence=1)
    va = snap_attempt(order, ["bca_va"], sequence=2)
    order_transition(order_id=order.order_id, to_status=S.EXPIRED, actor="system:scheduler")

    result = payment_expire_at_midtrans(order_id=order.order_id)

    assert result.not_supported == [dana.midtrans_order_id]
    expire_paths = [r["path"] for r in sim.simulator.requests_log if r["path"].endswith("/expire")]
    assert expire_paths == [f"/v2/{va.midtrans_order_id}/expire"]
    assert result.expired == [va.midtrans_order_id]


def test_dana_is_cancelled_by_transaction_id_and_never_expired(sim):
    """Cancel (customer or staff) calls DANA by its transaction_id, as Midtrans requires."""
    from payments.cancellation import order_cancel

    order = OrderFactory(payment_method="dana", status=S.PENDING_PAYMENT)
    attempt = snap_attempt(order, ["dana"])
    (pending,) = sim.simulator.customer_action(attempt.midtrans_order_id, "choose", "dana")
    transaction_id = pending["payload"]["transaction_id"]
    PaymentAttempt.objects.filter(pk=attempt.pk).update(midtrans_transaction_id=transaction_id)

    result = order_cancel(order_id=order.order_id)

    paths = [r["path"] for r in sim.simulator.requests_log if r["method"] == "POST"][1:]
    assert paths == [f"/v2/{transaction_id}/cancel"]
    assert not [p for p in paths if p.endswith("/expire")]
    assert result.order.status == S.FAILED


def test_an_unstarted_dana_attempt_is_not_called_by_order_id(sim):
    from payments.cancellation import order_cancel

    order = OrderFactory(payment_method="dana", status=S.PENDING_PAYMENT)
    snap_attempt(order, ["dana"])

    result = order_cancel(order_id=order.order_id)

    assert [r["method"] for r in sim.simulator.requests_log] == ["POST"]  # only Snap
    assert result.order.status == S.FAILED


def test_the_migration_carries_the_rotation_over_from_the_attempts():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("orders.migrations.0005_order_last_reconciled_at")
    asked_at = timezone.now() - timedelta(minutes=30)
    order = OrderFactory(status=S.PENDING_PAYMENT)
    PaymentAttemptFactory(order=order, sequence=1, last_reconciled_at=asked_at)
    PaymentAttemptFactory(order=order, sequence=2, last_reconciled_at=None)
    never = OrderFactory(status=S.PENDING_PAYMENT)
    PaymentAttemptFactory(order=never)

    migration.carry_over_from_attempts(apps, None)

    assert Order.objects.get(pk=order.pk).last_reconciled_at == asked_at
    assert Order.objects.get(pk=never.pk).last_reconciled_at is None
