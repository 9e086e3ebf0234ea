"""The support dashboard: exact funnel numbers per WIB day for a seeded data set, the outbox
backlog, DLQ, oldest pending order, recent ops alerts, the SVG chart, and who may see it."""

from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, NotificationOutbox, OutboxStatus
from notifications.services import ops_alert_enqueue
from orders.models import Order, OrderStatus
from orders.tests.lifecycle import order_in, pay
from payments.models import EventSource
from supportdesk import selectors
from supportdesk.models import DailyOrderStats, IntegrityCheck
from supportdesk.services import daily_stats_refresh, integrity_checks_run
from supportdesk.views import funnel_chart

pytestmark = pytest.mark.django_db
S = OrderStatus
WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)


def at(day: int, hour: int, minute: int = 0, month: int = 11):
    return time_machine.travel(datetime(2026, month, day, hour, minute, tzinfo=WIB), tick=False)


@pytest.fixture
def seeded(db):
    """Orders created at known WIB moments, each driven to its state by the state machine."""
    with at(20, 8):  # today
        order_in(S.CREATED)
        order_in(S.PENDING_PAYMENT)
        order_in(S.PENDING_PAYMENT)
        order_in(S.PAID)
    with at(19, 0, 30):  # 00:30 WIB is still 18 Nov in UTC: must count for 19 Nov
        order_in(S.PAID)
        order_in(S.FAILED)
        order_in(S.EXPIRED)
    with at(19, 23, 50):
        order_in(S.REFUNDED)
    with at(18, 9):
        oldest_pending = order_in(S.PENDING_PAYMENT)
    with at(7, 0, 5):  # first day of the 14-day window
        order_in(S.PAID, discount_amount=100_000)
    with at(6, 23, 55):  # one day too old: outside the window
        order_in(S.PAID)
    # Ops alerts at distinct minutes, then every message delivered except a chosen few.
    for minute in range(12):
        with at(20, 9, minute):
            ops_alert_enqueue(dedupe_key=f"alert:{minute}", subject=f"Alert {minute}", message="m")
    NotificationOutbox.objects.update(status=OutboxStatus.SENT)
    rows = list(NotificationOutbox.objects.order_by("id"))
    plan = [
        (Channel.EMAIL, OutboxStatus.PENDING, 0),
        (Channel.EMAIL, OutboxStatus.PENDING, 0),
        (Channel.WHATSAPP, OutboxStatus.RETRYING, 2),
        (Channel.EMAIL, OutboxStatus.DLQ, 5),
        (Channel.WHATSAPP, OutboxStatus.DLQ, 5),
        (Channel.EMAIL, OutboxStatus.SENDING, 1),
    ]
    for channel, status, attempts in plan:
        row = next(r for r in rows if r.channel == channel)
        rows.remove(row)
        NotificationOutbox.objects.filter(pk=row.pk).update(status=status, attempt_count=attempts)
    return {"oldest_pending": oldest_pending}


def test_funnel_numbers_match_the_seeded_data_exactly(seeded):
    funnel = selectors.funnel_by_day(now=NOW)
    assert [d.day for d in funnel] == [date(2026, 11, 7) + timedelta(days=i) for i in range(14)]
    by_day = {d.day: d for d in funnel}

    today = by_day[date(2026, 11, 20)]
    assert (today.created, today.still_created, today.pending, today.paid) == (4, 1, 2, 1)
    assert (today.failed, today.expired, today.refunded, today.revenue) == (0, 0, 0, 499_000)
    assert today.conversion == 25.0

    yesterday = by_day[date(2026, 11, 19)]
    assert (yesterday.created, yesterday.paid, yesterday.failed) == (4, 1, 1)
    assert (yesterday.expired, yesterday.refunded, yesterday.pending) == (1, 1, 0)
    assert yesterday.revenue == 499_000  # the refunded order is not revenue
    assert yesterday.conversion == 25.0

    assert (by_day[date(2026, 11, 18)].created, by_day[date(2026, 11, 18)].pending) == (1, 1)
    first = by_day[date(2026, 11, 7)]
    assert (first.created, first.paid, first.revenue, first.conversion) == (1, 1, 399_000, 100.0)

    empty = by_day[date(2026, 11, 10)]
    assert (empty.created, empty.revenue, empty.conversion) == (0, 0, None)

    totals = selectors.funnel_totals(funnel)
    assert (totals.created, totals.paid, totals.revenue) == (10, 3, 1_397_000)
    assert round(totals.conversion, 1) == 30.0


def test_the_daily_summary_gives_the_same_funnel_and_metrics(seeded):
    live = selectors.dashboard_snapshot(now=NOW)

    with time_machine.travel(NOW, tick=False):
        assert daily_stats_refresh() == 31  # the 31 closed days before today
    summary = selectors.dashboard_snapshot(now=NOW)

    assert summary.funnel == live.funnel
    assert summary.totals == live.totals
    assert [(m.key, m.value) for m in summary.success.metrics] == [
        (m.key, m.value) for m in live.success.metrics
    ]
    row = DailyOrderStats.objects.get(day=date(2026, 11, 19))
    assert (row.created, row.paid, row.refunded, row.customer_paid, row.fulfilled) == (
        4,
        1,
        1,
        2,
        2,
    )


def test_closed_days_are_read_from_the_summary_and_a_refresh_picks_up_changes(seeded):
    with time_machine.travel(NOW, tick=False):
        daily_stats_refresh()
    # An order of 18 Nov is paid after the last refresh: the summary has not seen it yet.
    with at(20, 10, 30):
        pay(Order.objects.get(pk=seeded["oldest_pending"].pk))

    stale = {d.day: d for d in selectors.funnel_by_day(now=NOW)}[date(2026, 11, 18)]
    assert (stale.pending, stale.paid) == (1, 0)  # read from the summary, not the orders

    # The next hourly run recomputes that day (it changed) and yesterday, nothing else.
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert daily_stats_refresh() == 2
    fresh = {d.day: d for d in selectors.funnel_by_day(now=NOW)}[date(2026, 11, 18)]
    assert (fresh.pending, fresh.paid, fresh.revenue) == (0, 1, 499_000)


def test_an_hourly_refresh_reads_only_the_days_that_changed(seeded, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        daily_stats_refresh()
    order = seeded["oldest_pending"]  # created 18 Nov
    # Midtrans tells us something about it without changing it (a stale pending): its day
    # may still have moved (a "paid at Midtrans" figure reads events), so it is recomputed.
    with at(20, 10, 40):
        order.events.create(
            idempotency_key="t:pending",
            source=EventSource.WEBHOOK,
            midtrans_order_id=order.order_id,
            transaction_status="pending",
            signature_valid=True,
        )
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=False), django_assert_max_num_queries(4):
        assert daily_stats_refresh() == 2  # 18 Nov (its event) and 19 Nov (yesterday)
    refreshed = DailyOrderStats.objects.filter(refreshed_at=later).values_list("day", flat=True)
    assert sorted(refreshed) == [date(2026, 11, 18), date(2026, 11, 19)]

    # A change that did not stamp `updated_at` (an UPDATE by hand) waits for the daily run,
    # which recomputes every day whose row is a day old.
    Order.objects.filter(discount_amount=100_000).update(status=OrderStatus.REFUNDED)  # 7 Nov
    with time_machine.travel(later + timedelta(hours=1), tick=False):
        assert daily_stats_refresh() == 1  # yesterday only
    assert DailyOrderStats.objects.get(day=date(2026, 11, 7)).paid == 1
    # A day later: the 28 rows written at NOW are a day old, and 20 Nov is the new yesterday.
    with time_machine.travel(NOW + timedelta(hours=24), tick=False):
        assert daily_stats_refresh() == 29
    row = DailyOrderStats.objects.get(day=date(2026, 11, 7))
    assert (row.paid, row.refunded) == (0, 1)


def test_the_summary_days_are_only_closed_days(seeded):
    with time_machine.travel(NOW, tick=False):
        daily_stats_refresh()
    assert not DailyOrderStats.objects.filter(day__gte=date(2026, 11, 20)).exists()
    # Today stays live: an order created now counts at once.
    with at(20, 9, 45):
        order_in(S.CREATED)
    today = selectors.funnel_by_day(now=NOW)[-1]
    assert (today.day, today.created) == (date(2026, 11, 20), 5)


def test_backlog_dlq_oldest_pending_and_alerts(seeded):
    snapshot = selectors.dashboard_snapshot(now=NOW)
    backlog = {(r.channel, r.status): (r.count, r.avg_attempts) for r in snapshot.backlog}
    assert backlog == {
        ("EMAIL", "PENDING"): (2, 0.0),
        ("EMAIL", "SENDING"): (1, 1.0),
        ("EMAIL", "DLQ"): (1, 5.0),
        ("WHATSAPP", "RETRYING"): (1, 2.0),
        ("WHATSAPP", "DLQ"): (1, 5.0),
    }
    assert snapshot.dlq_count == 2
    assert snapshot.oldest_pending.pk == seeded["oldest_pending"].pk
    assert snapshot.oldest_pending_age == timedelta(days=2, hours=1)
    assert [a.context["subject"] for a in snapshot.ops_alerts] == [
        f"Alert {m}" for m in range(11, 1, -1)
    ]


def test_dashboard_page_renders_the_same_numbers_and_a_chart(
    client, support_user, seeded, django_assert_max_num_queries
):
    client.force_login(support_user)
    url = reverse("supportdesk:dashboard")
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(15):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    row = html.split('data-day="2026-11-19"', 1)[1].split("</tr>", 1)[0]
    for column, value in {
        "created": "4",
        "paid": "1",
        "failed": "1",
        "expired": "1",
        "refunded": "1",
        "revenue": "Rp 499.000",
        "conversion": "25,0%",
    }.items():
        assert f'data-col="{column}">{value}<' in row, (column, row)
    assert 'id="total-revenue">Rp 1.397.000<' in html
    assert 'id="dlq-count">2<' in html
    assert seeded["oldest_pending"].order_id in html
    assert "Alert 11" in html and "Alert 1<" not in html
    # The chart: one group per day, bars with real geometry, no scripts or remote resources.
    assert html.count('<g class="bf-bar"') == 14
    assert 'data-day="19/11" data-total="4"' in html
    assert "<rect" in html and '<script src="http' not in html
    assert "cdn" not in html.lower()


def test_chart_geometry_is_proportional():
    days = [
        selectors.FunnelDay(day=date(2026, 11, 1), created=10, paid=5, pending=5),
        selectors.FunnelDay(day=date(2026, 11, 2), created=0),
    ]
    chart = funnel_chart(days)
    first, second = chart.bars
    heights = [s.height for s in first.segments]
    assert heights[0] == heights[1]  # 5 paid, 5 pending
    # 10 orders on a 0-20 axis (steps of 5): the bar fills half the plot.
    assert [line.value for line in chart.gridlines] == [0, 5, 10, 15, 20]
    assert sum(heights) == pytest.approx((chart.bottom - chart.top) / 2)
    assert second.segments == []
    assert not chart.empty


def test_dashboard_is_staff_only(client, editor_user, support_user, superuser):
    url = reverse("supportdesk:dashboard")
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))

    customer = User.objects.create_user("budi@example.com", "budi@example.com", "x")
    client.force_login(customer)
    refused = client.get(url)
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("admin:login"))

    client.force_login(editor_user)  # staff, but may not see orders or revenue
    assert client.get(url).status_code == 403

    for user in (support_user, superuser):
        client.force_login(user)
        assert client.get(url).status_code == 200


def test_admin_index_links_to_the_dashboard_for_support_only(client, support_user, editor_user):
    url = reverse("supportdesk:dashboard")
    client.force_login(support_user)
    assert url in client.get(reverse("admin:index")).content.decode()
    client.force_login(editor_user)
    assert url not in client.get(reverse("admin:index")).content.decode()


def test_empty_dashboard_renders(client, superuser):
    client.force_login(superuser)
    response = client.get(reverse("supportdesk:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Belum ada order dalam 14 hari terakhir" in html
    assert "Tidak ada antrean" in html


def test_the_refresh_command_writes_the_summary(seeded):
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("refresh_daily_stats", stdout=out)
    assert out.getvalue().strip() == (
        "refresh_daily_stats: 31 day(s) written; access without PAID: 0"
    )
    assert DailyOrderStats.objects.get(day=date(2026, 11, 7)).paid == 1


def test_the_refresh_command_with_full_redoes_every_day_and_entitlement(seeded):
    with time_machine.travel(NOW, tick=False):
        call_command("refresh_daily_stats", stdout=StringIO())
    # Edited by hand: `updated_at` not stamped, so an hourly run would not see it for a day.
    Order.objects.filter(discount_amount=100_000).update(status=OrderStatus.REFUNDED)  # 7 Nov
    out = StringIO()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        call_command("refresh_daily_stats", "--full", stdout=out)
    assert out.getvalue().strip() == (
        "refresh_daily_stats: 31 day(s) written; access without PAID: 1"
    )
    assert DailyOrderStats.objects.get(day=date(2026, 11, 7)).refunded == 1


def _access_without_paid(metrics):
    return next(m for m in metrics.metrics if m.key == "access_without_paid")


def test_access_without_paid_is_read_from_the_hourly_check(seeded, django_assert_num_queries):
    paid = Order.objects.filter(status=OrderStatus.PAID).first()
    with time_machine.travel(NOW, tick=False):
        assert integrity_checks_run() == 0
        # A bug: refunded without revoking the access.
        Order.objects.filter(pk=paid.pk).update(status=OrderStatus.REFUNDED, updated_at=NOW)
        # The view reads the stored result (one small query, no join over entitlements) ...
        with django_assert_num_queries(1):
            assert selectors.access_without_paid_checked() == (0, NOW)
        metric = _access_without_paid(selectors.dashboard_snapshot(now=NOW).success)
        assert metric.value == 0 and "diperiksa" in metric.explanation
        # ... until the next hourly check counts it, and tells ops.
        assert integrity_checks_run() == 1
    assert _access_without_paid(selectors.dashboard_snapshot(now=NOW).success).value == 1
    assert IntegrityCheck.objects.get(name="access_without_paid").violations == 1
    alerts = NotificationOutbox.objects.filter(dedupe_key__startswith="access_without_paid:")
    [alert] = alerts.filter(channel=Channel.EMAIL)
    assert "Akses kursus tanpa PAID" in alert.context["subject"]
    before = alerts.count()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert integrity_checks_run() == 1  # the same day: no second alert
    assert alerts.count() == before


def test_the_hourly_check_reads_changes_and_last_violators_and_once_a_day_everything(
    seeded, django_assert_max_num_queries
):
    first, second, third = Order.objects.filter(status=OrderStatus.PAID).order_by("pk")[:3]
    with time_machine.travel(NOW, tick=False):
        assert integrity_checks_run() == 0  # the first check reads everything
        Order.objects.filter(pk=first.pk).update(status=OrderStatus.REFUNDED, updated_at=NOW)
    hour = NOW + timedelta(hours=1)
    with time_machine.travel(hour, tick=False), django_assert_max_num_queries(6):
        assert integrity_checks_run() == 1  # one read of what changed (and the last violators)
    # Unchanged since, the violator is still counted; a by-hand UPDATE that does not stamp
    # `updated_at` waits for the daily full check.
    Order.objects.filter(pk=second.pk).update(status=OrderStatus.FAILED)
    with time_machine.travel(hour + timedelta(hours=1), tick=False):
        assert integrity_checks_run() == 1
    with time_machine.travel(NOW + timedelta(hours=24), tick=False):
        assert integrity_checks_run() == 2
        check = IntegrityCheck.objects.get(name="access_without_paid")
        assert check.full_checked_at == NOW + timedelta(hours=24)
        # The first one is put right (paid again): the next hourly check drops it.
        Order.objects.filter(pk=first.pk).update(status=OrderStatus.PAID, updated_at=timezone.now())
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        assert integrity_checks_run() == 1
        assert IntegrityCheck.objects.get(name="access_without_paid").violating_ids == [
            second.entitlement.pk
        ]
    assert third.entitlement.status == "ACTIVE"


def test_too_many_known_violators_make_the_hourly_check_a_full_one(seeded):
    with time_machine.travel(NOW, tick=False):
        integrity_checks_run()
    IntegrityCheck.objects.update(violating_ids=list(range(1, 10_002)))  # not passed as ids
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        assert integrity_checks_run() == 0
    check = IntegrityCheck.objects.get(name="access_without_paid")
    assert (check.full_checked_at, check.violating_ids) == (later, [])


def test_without_a_check_yet_access_without_paid_is_counted_live(seeded):
    paid = Order.objects.filter(status=OrderStatus.PAID).first()
    Order.objects.filter(pk=paid.pk).update(status=OrderStatus.REFUNDED)
    metric = _access_without_paid(selectors.dashboard_snapshot(now=NOW).success)
    assert metric.value == 1 and "diperiksa" not in metric.explanation
