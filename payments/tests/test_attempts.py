"""`payments.attempts.attempt_start` through real HTTP to the Midtrans simulator (the real
`midtransclient`, nothing patched): the Snap body, retries, timeouts, 4xx, UC-006 retries and
every refusal."""

import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from buatfilm.formatting import WIB
from buatfilm.testing import run_concurrently
from notifications.models import NotificationOutbox, Template
from orders.models import Order, OrderStatus
from orders.selectors import order_status_url
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import order_in
from payments.attempts import (
    IN_FLIGHT_GRACE,
    PaymentAlreadyStarted,
    PaymentInProgress,
    PaymentNotAllowed,
    PaymentRejected,
    PaymentUnavailable,
    attempt_start,
)
from payments.models import AttemptStatus, PaymentAttempt
from payments.tests.factories import PaymentAttemptFactory
from supportdesk.models import AuditLog

S = OrderStatus
pytestmark = pytest.mark.django_db


def snap_requests(server) -> list[dict]:
    return [r for r in server.simulator.requests_log if r["path"] == "/snap/v1/transactions"]


def created_order(**kwargs) -> Order:
    return OrderFactory(status=S.CREATED, **kwargs)


def status_changes(order: Order) -> int:
    return AuditLog.objects.filter(entity_id=order.order_id, action="order_status_changed").count()


def test_happy_path_sends_the_right_snap_body_and_moves_to_pending(midtrans_sim):
    order = created_order(customer_name="Siti Nurhaliza", customer_email="siti@example.com")
    now = timezone.now()

    attempt = attempt_start(order_id=order.order_id, now=now)

    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    assert attempt.sequence == 1
    assert attempt.status == AttemptStatus.PENDING
    assert attempt.midtrans_order_id == f"{order.order_id}-1"
    assert attempt.amount == order.final_amount
    assert attempt.snap_token and attempt.redirect_url.startswith(midtrans_sim.base_url)

    [request] = snap_requests(midtrans_sim)
    body = request["json"]
    sent_id = body["transaction_details"]["order_id"]
    assert re.fullmatch(r"BF-\d{8}-[2-9A-HJ-NP-Z]{6}-1", sent_id)
    assert len(sent_id) <= 50 and re.fullmatch(r"[A-Za-z0-9\-_~.]+", sent_id)
    gross = body["transaction_details"]["gross_amount"]
    assert gross == order.final_amount == 499_000
    assert sum(item["price"] * item["quantity"] for item in body["item_details"]) == gross
    assert body["enabled_payments"] == [order.payment_method] == ["bca_va"]
    assert body["customer_details"] == {
        "first_name": "Siti Nurhaliza",
        "email": "siti@example.com",
        "phone": "+6281234567789",
    }
    expiry = body["expiry"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0700", expiry["start_time"])
    assert expiry["start_time"] == now.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S +0700")
    assert expiry["unit"] == "minute"
    assert expiry["duration"] == int((order.expires_at - now).total_seconds() // 60)
    assert 1430 <= expiry["duration"] <= 1440
    finish = body["callbacks"]["finish"]
    assert finish == order_status_url(order)
    assert f"/orders/{order.order_id}/" in finish and f"key={order.access_key}" in finish


def test_entering_pending_queues_instructions_with_the_status_page_link(midtrans_sim):
    order = created_order()
    attempt = attempt_start(order_id=order.order_id)

    rows = NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_INSTRUCTION
    )
    assert rows.count() == 2
    for row in rows:
        # Pay links go to the status page (live payment or retry), never to the Snap page.
        assert row.context["status_url"] == order_status_url(order)
        assert attempt.redirect_url not in str(row.context)
        assert row.context["payment"]["midtrans_order_id"] == attempt.midtrans_order_id


def test_the_snap_expiry_follows_the_order_expiry(midtrans_sim):
    now = timezone.now()
    order = created_order(expires_at=now + timedelta(minutes=30, seconds=59))
    attempt_start(order_id=order.order_id, now=now)
    assert snap_requests(midtrans_sim)[0]["json"]["expiry"]["duration"] == 30


def test_a_discounted_order_charges_the_net_amount_in_one_item(midtrans_sim):
    order = created_order(discount_amount=49_900, discount_code="HEMAT10")
    attempt_start(order_id=order.order_id)

    body = snap_requests(midtrans_sim)[0]["json"]
    assert body["transaction_details"]["gross_amount"] == 449_100
    [item] = body["item_details"]
    assert item["price"] == 449_100 and item["quantity"] == 1
    assert "HEMAT10" in item["name"] and len(item["name"]) <= 50


def test_a_5xx_is_retried_and_the_payment_starts(midtrans_sim):
    midtrans_sim.simulator.fail_next(count=1, status=502)
    order = created_order()

    attempt = attempt_start(order_id=order.order_id)

    assert attempt.status == AttemptStatus.PENDING
    assert [r["response_status"] for r in snap_requests(midtrans_sim)] == [502, 201]
    assert PaymentAttempt.objects.filter(order=order).count() == 1


def test_midtrans_timing_out_leaves_a_created_order_then_a_retry_succeeds(midtrans_sim, settings):
    settings.MIDTRANS_READ_TIMEOUT = 0.3
    settings.MIDTRANS_MAX_RETRIES = 2
    midtrans_sim.simulator.delay_next(count=3, seconds=1.5, path_prefix="/snap/")
    order = created_order()

    with pytest.raises(PaymentUnavailable) as excinfo:
        attempt_start(order_id=order.order_id)

    order.refresh_from_db()
    assert order.status == S.CREATED  # nothing lost, still retryable
    first = PaymentAttempt.objects.get(order=order)
    assert first.status == AttemptStatus.FAILED
    assert "ReadTimeout" in first.snap_error
    assert excinfo.value.attempt == first
    assert "coba lagi" in excinfo.value.message
    assert len(snap_requests(midtrans_sim)) == 3  # bounded: 1 try + 2 retries
    assert not NotificationOutbox.objects.filter(order=order).exists()
    assert AuditLog.objects.filter(action="payment_attempt_unavailable").count() == 1

    second = attempt_start(order_id=order.order_id)

    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    assert second.sequence == 2
    assert second.midtrans_order_id == f"{order.order_id}-2"
    assert second.status == AttemptStatus.PENDING
    assert snap_requests(midtrans_sim)[-1]["json"]["transaction_details"]["order_id"] == (
        f"{order.order_id}-2"
    )


def test_a_4xx_is_not_retried_and_fails_the_attempt(midtrans_sim, caplog):
    midtrans_sim.simulator.fail_next(count=1, status=400)
    order = created_order()

    with caplog.at_level(logging.ERROR), pytest.raises(PaymentRejected):
        attempt_start(order_id=order.order_id)

    assert len(snap_requests(midtrans_sim)) == 1
    attempt = PaymentAttempt.objects.get(order=order)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.snap_error.startswith("HTTP 400")
    order.refresh_from_db()
    assert order.status == S.CREATED
    assert "rejected: HTTP 400" in caplog.text


def test_uc006_try_again_after_a_failed_payment_keeps_the_order_pending(midtrans_sim):
    now = timezone.now()
    order = created_order(expires_at=now + timedelta(minutes=90))
    first = attempt_start(order_id=order.order_id, now=now)
    # The customer's payment is denied (the webhook records it on the attempt).
    PaymentAttempt.objects.filter(pk=first.pk).update(
        status=AttemptStatus.FAILED, transaction_status="deny"
    )
    changes = status_changes(order)
    later = now + timedelta(minutes=30)

    second = attempt_start(order_id=order.order_id, now=later)

    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    assert status_changes(order) == changes  # no transition, no new instructions
    assert second.sequence == 2 and second.status == AttemptStatus.PENDING
    body = snap_requests(midtrans_sim)[-1]["json"]
    assert body["transaction_details"]["order_id"] == f"{order.order_id}-2"
    assert body["expiry"]["duration"] == 60  # the time the order has left
    assert body["expiry"]["start_time"] == later.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S +0700")


def test_a_live_payment_is_reused_not_duplicated(midtrans_sim):
    order = created_order()
    first = attempt_start(order_id=order.order_id)

    with pytest.raises(PaymentAlreadyStarted) as excinfo:
        attempt_start(order_id=order.order_id)

    assert excinfo.value.redirect_url == first.redirect_url
    assert len(snap_requests(midtrans_sim)) == 1


def test_an_attempt_in_flight_blocks_a_second_start(midtrans_sim):
    order = created_order()
    PaymentAttemptFactory(order=order, status=AttemptStatus.CREATED, snap_token="")

    with pytest.raises(PaymentInProgress):
        attempt_start(order_id=order.order_id)
    assert snap_requests(midtrans_sim) == []


def test_an_abandoned_attempt_is_failed_and_replaced(midtrans_sim):
    order = created_order()
    stale = PaymentAttemptFactory(order=order, status=AttemptStatus.CREATED, snap_token="")
    PaymentAttempt.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - IN_FLIGHT_GRACE - timedelta(seconds=1)
    )

    attempt = attempt_start(order_id=order.order_id)

    stale.refresh_from_db()
    assert stale.status == AttemptStatus.FAILED and "abandoned" in stale.snap_error
    assert attempt.sequence == 2


@pytest.mark.parametrize("status", [S.PAID, S.EXPIRED, S.FAILED, S.REFUNDED])
def test_orders_that_cannot_be_paid_are_refused(midtrans_sim, status):
    order = order_in(status)
    attempts_before = order.attempts.count()

    with pytest.raises(PaymentNotAllowed) as excinfo:
        attempt_start(order_id=order.order_id)

    assert excinfo.value.message
    assert order.attempts.count() == attempts_before
    assert snap_requests(midtrans_sim) == []


def test_an_order_past_its_expiry_is_refused_even_before_the_scheduler_runs(midtrans_sim):
    order = created_order(expires_at=timezone.now() + timedelta(seconds=30))

    with pytest.raises(PaymentNotAllowed, match="sudah habis"):
        attempt_start(order_id=order.order_id)
    assert snap_requests(midtrans_sim) == []


def test_the_server_key_is_not_in_audit_rows_or_attempts(midtrans_sim, settings):
    midtrans_sim.simulator.fail_next(count=1, status=401)
    order = created_order()
    with pytest.raises(PaymentRejected):
        attempt_start(order_id=order.order_id)
    attempt_start(order_id=order.order_id)

    key = settings.MIDTRANS_SERVER_KEY
    for row in AuditLog.objects.all():
        assert key not in str(row.new_value) and key not in str(row.old_value)
    for attempt in PaymentAttempt.objects.all():
        assert key not in attempt.snap_error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_create_one_snap_transaction(midtrans_sim):
    order = created_order()
    midtrans_sim.simulator.delay_next(count=1, seconds=0.5, path_prefix="/snap/")

    def start() -> str:
        try:
            attempt_start(order_id=order.order_id)
        except (PaymentInProgress, PaymentAlreadyStarted) as exc:
            return type(exc).__name__
        return "started"

    # A thread that raised anything else leaves no outcome, as before.
    outcomes = [r for r in run_concurrently([start] * 4) if isinstance(r, str)]

    assert outcomes.count("started") == 1
    assert len(outcomes) == 4
    assert PaymentAttempt.objects.filter(order=order).count() == 1
    assert len(snap_requests(midtrans_sim)) == 1
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT


def test_storing_the_snap_answer_never_overwrites_a_settled_attempt():
    """A notification that completed the attempt while Snap was still answering wins."""
    from payments.attempts import _attempt_store_snap

    stale = PaymentAttemptFactory(status=AttemptStatus.CREATED, snap_token="")
    PaymentAttempt.objects.filter(pk=stale.pk).update(status=AttemptStatus.COMPLETED)

    stored = _attempt_store_snap(
        attempt=stale, answer={"token": "tok", "redirect_url": "http://sim/redirect"}
    )

    fresh = PaymentAttempt.objects.get(pk=stale.pk)
    assert fresh.status == AttemptStatus.COMPLETED
    assert stored.status == AttemptStatus.COMPLETED
    assert fresh.snap_token == "tok"
