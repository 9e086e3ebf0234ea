"""The dashboard's success metrics (seed 000 §11) for the selected period, each beside its
target and marked when missed, computed by the database and checked exactly on a seeded set."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from courses.models import Entitlement
from courses.tests.factories import PackageFactory
from notifications.models import NotificationOutbox, OutboxStatus, Template
from orders.messages import attempt_message_enqueue
from orders.models import OrderStatus, PromoCode
from orders.tests.lifecycle import order_in
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory
from supportdesk import selectors

pytestmark = pytest.mark.django_db
S = OrderStatus
WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=WIB)


def day(back: int, hour: int = 10) -> datetime:
    return (NOW - timedelta(days=back)).replace(hour=hour)


@pytest.fixture
def seeded(db):
    """Six orders in the last 7 days, one older paid order outside the period."""
    basic = PackageFactory(code="basic", name="Paket Basic", price=499_000)
    pro = PackageFactory(code="pro", name="Paket Pro", price=999_000)
    promo = PromoCode.objects.create(code="HEMAT50", kind="FIXED", value=50_000)
    with time_machine.travel(day(2), tick=False):
        a = order_in(S.PAID, package=basic)
        b = order_in(S.PAID, package=pro)
        c = order_in(S.PENDING_PAYMENT, package=basic)
        d = order_in(S.EXPIRED, package=basic)
        e = order_in(S.REFUNDED, package=pro)
        promo_paid = order_in(
            S.PAID,
            package=basic,
            promo_code=promo,
            discount_code="HEMAT50",
            discount_amount=50_000,
        )
        # Midtrans reported a settlement that was never applied (e.g. amount mismatch).
        f = order_in(S.PENDING_PAYMENT, package=basic)
        PaymentEventFactory(attempt=PaymentAttemptFactory(order=f), transaction_status="settlement")
    with time_machine.travel(day(20), tick=False):
        order_in(S.PAID, package=pro)  # outside the 7-day period
    # One message taken over after a worker lost its lease (claimed twice, no error recorded).
    row = NotificationOutbox.objects.filter(order=a, channel="EMAIL").first()
    NotificationOutbox.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENT, attempt_count=2, error_history=[]
    )
    # A retried message with its error recorded is not a duplicate.
    other = NotificationOutbox.objects.filter(order=b, channel="EMAIL").first()
    NotificationOutbox.objects.filter(pk=other.pk).update(
        status=OutboxStatus.SENT, attempt_count=2, error_history=[{"attempt": 1, "error": "x"}]
    )
    # Access for an order that is not PAID (what the metric must catch).
    Entitlement.objects.create(
        order=c,
        user=User.objects.create_user("c@example.com"),
        course=basic.course,
        granted_at=NOW,
    )
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "promo": promo_paid}


def test_metrics_match_the_seeded_set_exactly(seeded):
    result = selectors.success_metrics(since=NOW - timedelta(days=7), until=NOW)
    metrics = {m.key: m for m in result.metrics}
    # 7 orders; paid at Midtrans: a, b, e, promo, f = 5 -> 5/7.
    assert metrics["checkout_to_payment"].value == pytest.approx(100 * 5 / 7)
    assert metrics["checkout_to_payment"].missed
    # Fulfilled: a, b, promo (PAID) and e (REFUNDED after access) = 4 of 5.
    assert metrics["payment_to_success"].value == pytest.approx(80.0)
    assert metrics["payment_to_success"].missed
    assert metrics["duplicate_notifications"].value == 1
    assert metrics["duplicate_notifications"].missed
    assert metrics["access_without_paid"].value == 1
    assert [(p.package_code, p.paid_orders, p.revenue) for p in result.revenue_by_package] == [
        ("pro", 1, 999_000),  # biggest revenue first
        ("basic", 2, 499_000 + 449_000),
    ]
    assert [
        (u.code, u.orders, u.paid_orders, u.discount_total, u.revenue) for u in result.promo_usage
    ] == [("HEMAT50", 1, 1, 50_000, 449_000)]


def test_targets_met_are_not_marked(db):
    with time_machine.travel(day(1), tick=False):
        order_in(S.PAID)
    result = selectors.success_metrics(since=NOW - timedelta(days=7), until=NOW)
    assert [(m.key, m.missed) for m in result.metrics] == [
        ("checkout_to_payment", False),
        ("payment_to_success", False),
        ("duplicate_notifications", False),
        ("access_without_paid", False),
    ]


def test_one_failure_message_per_attempt_is_not_a_duplicate(db):
    """Two attempts of one order each failed: two `payment_attempt_failed` messages per channel,
    both sent, one per attempt (their dedupe keys differ). Counted as duplicates before."""
    with time_machine.travel(day(1), tick=False):
        order = order_in(S.PENDING_PAYMENT)
        for sequence in (1, 2):
            attempt = PaymentAttemptFactory(order=order, sequence=sequence)
            attempt_message_enqueue(
                order=order,
                attempt=attempt,
                template=Template.PAYMENT_ATTEMPT_FAILED,
                extra_context={"reason": "ditolak"},
            )
    NotificationOutbox.objects.filter(order=order).update(status=OutboxStatus.SENT)
    assert (
        NotificationOutbox.objects.filter(template_name=Template.PAYMENT_ATTEMPT_FAILED).count()
        == 4
    )

    result = selectors.success_metrics(since=NOW - timedelta(days=7), until=NOW)

    assert {m.key: m.value for m in result.metrics}["duplicate_notifications"] == 0


@pytest.mark.parametrize("who", ["superuser", "support_user"])
def test_dashboard_shows_each_metric_beside_its_target(request, client, who, seeded):
    client.force_login(request.getfixturevalue(who))
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("supportdesk:dashboard"), {"days": "7"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="metric-checkout_to_payment"' in html and "71,4%" in html
    assert "target ≥ 80%" in html and "target 0" in html
    assert html.count("bf-card bf-metric bf-alert") == 4
    assert 'id="revenue-by-package"' in html and "Rp 948.000" in html
    assert 'id="promo-usage"' in html and "HEMAT50" in html
    # Another period changes the figures; nonsense falls back to the default.
    # A NUL is refused before the view (HostileInputMiddleware).
    assert client.get(reverse("supportdesk:dashboard"), {"days": "x\x00"}).status_code == 400
