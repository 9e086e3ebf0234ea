"""Reconciliation through the real Midtrans simulator over HTTP (real `midtransclient`, no
patching): Midtrans' GET-status answers go through the webhook's own processing path."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from courses.models import Entitlement
from notifications.models import Template
from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.tests.factories import OrderFactory
from payments.midtrans import get_gateway
from payments.models import AttemptStatus, EventSource, PaymentAttempt, PaymentEvent
from payments.reconciliation import (
    ERROR,
    NOT_STARTED,
    Outcome,
    payment_reconcile_due,
    payment_reconcile_order,
)
from payments.selectors import orders_to_reconcile
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import WorldSnapshot, ops_alerts
from supportdesk.models import AuditLog

pytestmark = pytest.mark.django_db
S = OrderStatus
ACTOR = "system:reconciliation"


@pytest.fixture
def sim(midtrans_sim):
    # Only reconciliation may learn what happened: no webhook is delivered anywhere.
    midtrans_sim.simulator.notification_url = None
    return midtrans_sim


def snap_attempt(order: Order | None = None, *, sequence: int = 1) -> PaymentAttempt:
    """An attempt whose Snap transaction really exists in the simulator."""
    order = order or OrderFactory()
    midtrans_order_id = f"{order.order_id}-{sequence}"
    answer = get_gateway().create_snap_transaction(
        {
            "transaction_details": {
                "order_id": midtrans_order_id,
                "gross_amount": order.final_amount,
            },
            "enabled_payments": ["bca_va", "bni_va", "echannel", "gopay", "other_qris"],
        }
    )
    return PaymentAttemptFactory(
        order=order,
        sequence=sequence,
        midtrans_order_id=midtrans_order_id,
        snap_token=answer["token"],
        redirect_url=answer["redirect_url"],
    )


def age(order: Order, minutes: int) -> None:
    """Make an order look older (created_at is not a status: a plain update is fine)."""
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_a_settled_transaction_whose_webhook_was_lost_becomes_paid(sim):
    attempt = snap_attempt()
    sim.simulator.customer_action(attempt.midtrans_order_id, "pay", "bca_va")

    results = payment_reconcile_order(order_id=attempt.order_id, actor=ACTOR)

    assert [(r.midtrans_order_id, r.result) for r in results] == [
        (attempt.midtrans_order_id, Outcome.PAID)
    ]
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.PAID
    event = PaymentEvent.objects.get()
    assert event.source == EventSource.RECONCILIATION
    assert event.transaction_status == "settlement" and event.outcome == "paid"
    assert event.signature_valid and "signature_key" not in event.raw_payload
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.COMPLETED
    assert attempt.bank == "bca" and attempt.va_number  # details from the status answer
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.ACTIVE
    assert order.notifications.filter(template_name=Template.PAYMENT_SUCCESS_ACCESS).count() == 2
    paid = AuditLog.objects.get(action="order_status_changed", entity_id=order.order_id)
    assert paid.actor == ACTOR
    # The webhook never came: ops hear about the discrepancy, once.
    alert = order.notifications.get(template_name=Template.OPS_ALERT)
    assert alert.dedupe_key == f"reconciliation_discrepancy:event:{event.pk}"
    assert "webhook" in alert.context["message"]
    # The simulator saw an authenticated GET status for that id.
    status_calls = [r for r in sim.simulator.requests_log if r["path"].endswith("/status")]
    assert [r["auth_user"] for r in status_calls] == ["SB-Mid-server-TEST-KEY"]

    # Running it again is a no-op: same fact, same idempotency key.
    before = WorldSnapshot.take()
    again = payment_reconcile_order(order_id=attempt.order_id, actor=ACTOR)
    assert [r.result for r in again] == [Outcome.DUPLICATE]
    assert WorldSnapshot.take() == before


def test_not_started_404_changes_nothing(sim):
    attempt = snap_attempt()
    before = WorldSnapshot.take()

    results = payment_reconcile_order(order_id=attempt.order_id, actor=ACTOR)

    assert [r.result for r in results] == [NOT_STARTED]
    assert not results[0].failed
    assert WorldSnapshot.take() == before


def test_pending_transaction_records_the_payment_details(sim):
    attempt = snap_attempt()
    sim.simulator.customer_action(attempt.midtrans_order_id, "choose", "echannel")
    results = payment_reconcile_order(order_id=attempt.order_id, actor=ACTOR)
    assert [r.result for r in results] == [Outcome.PENDING_RECORDED]
    attempt.refresh_from_db()
    assert attempt.payment_type == "echannel"
    assert attempt.bill_key and attempt.biller_code == "70012"
    assert Order.objects.get(pk=attempt.order_id).status == S.PENDING_PAYMENT


def test_a_late_settlement_on_an_expired_order_is_found_by_the_batch(sim):
    order = OrderFactory(expires_at=timezone.now() - timedelta(minutes=30))
    attempt = snap_attempt(order)
    order_transition(order_id=order.order_id, to_status=S.EXPIRED, actor="system:scheduler")
    sim.simulator.customer_action(attempt.midtrans_order_id, "pay", "bni_va")

    assert order.order_id in orders_to_reconcile(
        now=timezone.now(),
        pending_after_minutes=15,
        recent_hours=48,
        pending_limit=100,
        recent_limit=100,
    )
    summary = payment_reconcile_due()

    assert [r.result for r in summary.attempts] == [Outcome.PAID_LATE]
    order = Order.objects.get(pk=order.pk)
    assert order.status == S.PAID
    assert AuditLog.objects.filter(action="late_payment", entity_id=order.order_id).count() == 1
    assert len(ops_alerts(order)) == 1
    assert Entitlement.objects.filter(order=order).count() == 1


def test_every_attempt_with_a_snap_token_is_asked(sim):
    order = OrderFactory()
    first = snap_attempt(order, sequence=1)
    second = snap_attempt(order, sequence=2)
    PaymentAttemptFactory(order=order, sequence=3, snap_token="", status=AttemptStatus.FAILED)
    sim.simulator.customer_action(first.midtrans_order_id, "fail", "gopay")
    sim.simulator.customer_action(second.midtrans_order_id, "pay", "other_qris")

    results = payment_reconcile_order(order_id=order.order_id, actor=ACTOR)

    assert [(r.midtrans_order_id, r.result) for r in results] == [
        (first.midtrans_order_id, Outcome.ATTEMPT_FAILED),
        (second.midtrans_order_id, Outcome.PAID),
    ]
    assert Order.objects.get(pk=order.pk).status == S.PAID


def test_selector_picks_old_pending_and_recent_closed_orders_only():
    now = timezone.now()
    old_pending = PaymentAttemptFactory().order
    age(old_pending, 20)
    young_pending = PaymentAttemptFactory().order
    never_reached_snap = PaymentAttemptFactory(snap_token="").order
    age(never_reached_snap, 20)
    old_failed = PaymentAttemptFactory(order=OrderFactory()).order
    order_transition(order_id=old_failed.order_id, to_status=S.FAILED, actor="t")
    Order.objects.filter(pk=old_failed.pk).update(updated_at=now - timedelta(hours=49))
    recent_failed = PaymentAttemptFactory().order
    order_transition(order_id=recent_failed.order_id, to_status=S.FAILED, actor="t")

    picked = orders_to_reconcile(
        now=now, pending_after_minutes=15, recent_hours=48, pending_limit=100, recent_limit=100
    )

    assert set(picked) == {old_pending.order_id, recent_failed.order_id}
    assert young_pending.order_id not in picked
    assert orders_to_reconcile(
        now=now, pending_after_minutes=15, recent_hours=48, pending_limit=1, recent_limit=0
    ) == [old_pending.order_id]


def test_command_prints_one_summary_line(sim):
    paid = snap_attempt()
    waiting = snap_attempt()
    for attempt in (paid, waiting):
        age(attempt.order, 30)
    sim.simulator.customer_action(paid.midtrans_order_id, "pay", "bca_va")

    out = StringIO()
    call_command("reconcile_payments", stdout=out)

    assert out.getvalue().strip() == (
        "reconcile_payments: 2 order(s), 2 attempt(s): 1 not_started, 1 paid; 0 failed"
    )
    assert Order.objects.get(pk=paid.order_id).status == S.PAID


def test_command_for_one_order(sim):
    attempt = snap_attempt()
    sim.simulator.customer_action(attempt.midtrans_order_id, "pay", "bca_va")
    out = StringIO()
    call_command("reconcile_payments", "--order", attempt.order_id, stdout=out)
    assert "1 order(s), 1 attempt(s): 1 paid; 0 failed" in out.getvalue()


def test_command_rejects_an_unknown_order(sim):
    with pytest.raises(CommandError, match="tidak ditemukan"):
        call_command("reconcile_payments", "--order", "BF-NOPE", stdout=StringIO())


def test_one_midtrans_failure_does_not_stop_the_batch_but_fails_the_command(sim):
    broken = snap_attempt()
    fine = snap_attempt()
    for attempt in (broken, fine):
        age(attempt.order, 30)
    sim.simulator.customer_action(fine.midtrans_order_id, "pay", "bca_va")
    # Midtrans refuses the status call for the first order (4xx is never retried).
    sim.simulator.fail_next(count=1, status=401, path_prefix=f"/v2/{broken.midtrans_order_id}/")

    out = StringIO()
    with pytest.raises(CommandError, match="1 reconciliation"):
        call_command("reconcile_payments", stdout=out)

    assert "1 error, 1 paid; 1 failed" in out.getvalue()
    assert Order.objects.get(pk=fine.order_id).status == S.PAID
    assert Order.objects.get(pk=broken.order_id).status == S.PENDING_PAYMENT


def test_unreachable_midtrans_is_an_error_result_not_an_exception(sim, settings):
    attempt = snap_attempt()
    sim.simulator.fail_next(count=5, status=503, path_prefix="/v2/")
    settings.MIDTRANS_MAX_RETRIES = 1
    before = WorldSnapshot.take()
    (result,) = payment_reconcile_order(order_id=attempt.order_id, actor=ACTOR)
    assert result.result == ERROR and result.failed
    assert "503" in result.detail
    assert WorldSnapshot.take() == before
