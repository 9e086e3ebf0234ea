"""Parallel notifications on PostgreSQL with real connections (one per thread): the order row
lock and the idempotency key let exactly one of them pay the order (UC-012, UC-018)."""

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from buatfilm.testing import run_concurrently
from courses.models import Entitlement
from notifications.models import Channel, NotificationOutbox, Template
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory
from payments.models import EventSource, PaymentEvent
from payments.processing import payment_notification_process
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body, post_notification
from supportdesk.models import AuditLog

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def webhook(body: dict) -> Callable[[], tuple[int, str]]:
    def call() -> tuple[int, str]:
        response = post_notification(Client(), body)
        return response.status_code, response.json().get("outcome", "")

    return call


def reconciliation(body: dict) -> Callable[[], tuple[int, str]]:
    def call() -> tuple[int, str]:
        result = payment_notification_process(
            payload=body, source=EventSource.RECONCILIATION, remote_ip=None
        )
        return result.http_status, result.outcome

    return call


def test_sixty_parallel_success_notifications_pay_once():
    order = OrderFactory()
    attempt = PaymentAttemptFactory(order=order)
    settlement = midtrans_body(attempt, "settlement")
    capture = midtrans_body(attempt, "capture", payment_type="bank_transfer")

    calls = (
        [webhook(settlement) for _ in range(30)]  # identical redeliveries
        + [reconciliation(settlement) for _ in range(10)]  # same fact, other source
        + [webhook(capture) for _ in range(10)]  # equivalent fact, other key
        + [reconciliation(capture) for _ in range(10)]
    )
    results = run_concurrently(calls)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    statuses = Counter(status for status, _ in results)  # type: ignore[misc]
    outcomes = Counter(outcome for _, outcome in results)  # type: ignore[misc]
    assert statuses == {200: 60}
    assert outcomes["paid"] == 1
    assert set(outcomes) <= {"paid", "duplicate", "already_paid"}

    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.PAID
    paid_rows = AuditLog.objects.filter(
        action="order_status_changed", entity_id=order.order_id, new_value__status="PAID"
    )
    assert paid_rows.count() == 1
    assert Entitlement.objects.filter(order=order).count() == 1
    success = NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    assert sorted(success.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.WHATSAPP]
    # One stored event per distinct fact: the settlement and the capture.
    assert PaymentEvent.objects.filter(attempt=attempt).count() == 2
    assert sorted(PaymentEvent.objects.values_list("outcome", flat=True)) == sorted(
        ["paid", "already_paid"]
    )


def test_settlement_racing_expiry_never_loses_the_payment():
    order = OrderFactory(expires_at=timezone.now() - timedelta(seconds=1))
    attempt = PaymentAttemptFactory(order=order)
    calls = [webhook(midtrans_body(attempt, "expire", fraud_status=None)) for _ in range(10)] + [
        webhook(midtrans_body(attempt, "settlement")) for _ in range(10)
    ]
    results = run_concurrently(calls)

    assert all(not isinstance(r, BaseException) and r[0] == 200 for r in results), results
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.PAID
    assert Entitlement.objects.filter(order=order).count() == 1
    assert (
        NotificationOutbox.objects.filter(
            order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
        ).count()
        == 2
    )


def test_parallel_unknown_order_notifications_store_one_event():
    attempt = PaymentAttemptFactory()
    body = midtrans_body(attempt, order_id="BF-20261124-GHOST9-1")
    results = run_concurrently([webhook(body) for _ in range(20)])
    assert {r[0] for r in results if not isinstance(r, BaseException)} == {404}
    assert not any(isinstance(r, BaseException) for r in results)
    assert PaymentEvent.objects.filter(midtrans_order_id="BF-20261124-GHOST9-1").count() == 1


def test_a_notification_waits_for_the_order_lock_and_then_sees_the_attempt_as_committed():
    """The stuck-attempt job fails an attempt under the order lock (`payments.stuck._fail`:
    lock the order, then write the attempt). A notification arriving meanwhile must queue on
    the order first, never hold the attempt row while waiting for the order (that would
    deadlock the two), and then read the attempt as the job committed it, not as it was when
    the notification started waiting: a `pending` for a FAILED attempt is stale, and must not
    bring the attempt back to PENDING."""
    import threading

    from django.db import transaction

    from payments.models import AttemptStatus, PaymentAttempt

    attempt = PaymentAttemptFactory(status=AttemptStatus.CREATED)
    locked, release = threading.Event(), threading.Event()

    def stuck_job() -> str:
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=attempt.order_id)
            locked.set()
            release.wait(5)
            PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.FAILED)
        return "failed it"

    def notification() -> tuple[int, str]:
        locked.wait(5)
        # Queued on the order row by the time the job goes on to write the attempt.
        threading.Timer(0.3, release.set).start()
        return webhook(midtrans_body(attempt, "pending"))()

    results = run_concurrently([stuck_job, notification])

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results == ["failed it", (200, "ignored_stale")]
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED
