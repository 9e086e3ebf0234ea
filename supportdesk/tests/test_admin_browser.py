"""The support desk in a real browser (Debian chromium, Playwright) against the live site:
log in to the admin, open the dashboard (the server-rendered SVG chart must draw bars) and an
order page (read-only, with the support actions).

Set BROWSER_SCREENSHOT_DIR=/tmp/shots to keep full-page screenshots for a visual check.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from buatfilm.testing import screenshot
from notifications.services import ops_alert_enqueue
from orders.models import OrderStatus
from orders.tests.lifecycle import event_for, move, order_in
from supportdesk.tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = OrderStatus


def seed_two_weeks() -> object:
    """A plausible fortnight: a few orders a day in every state, some messages stuck."""
    today = timezone.localdate()
    wib = ZoneInfo("Asia/Jakarta")
    mix = [S.PAID, S.PENDING_PAYMENT, S.EXPIRED, S.PAID, S.FAILED, S.PAID, S.CREATED, S.REFUNDED]
    last = None
    for back in range(13, -1, -1):
        day = today - timedelta(days=back)
        for n in range(back % 4 + 2):
            moment = datetime(day.year, day.month, day.day, 9 + n, 0, tzinfo=wib)
            with time_machine.travel(moment, tick=False):
                last = order_in(mix[(back + n) % len(mix)])
    ops_alert_enqueue(
        dedupe_key="late:demo", subject="Pembayaran terlambat: demo", message="m", order=last
    )
    return last


def test_dashboard_chart_and_order_page_render_in_a_browser(live_server, browser_page):
    User.objects.create_superuser("root", "root@buatfilm.test", PASSWORD)
    order = seed_two_weeks()
    paid = order_in(S.PENDING_PAYMENT)
    settlement = {
        "transaction_status": "settlement",
        "status_code": "200",
        "signature_key": "f00-signature",
        "va_numbers": [{"bank": "bca", "va_number": "66021176650"}],
    }
    move(paid, S.PAID, payment_event=event_for(paid, raw_payload=settlement))
    page = browser_page

    dashboard = reverse("supportdesk:dashboard")
    page.goto(f"{live_server.url}{reverse('admin:login')}?next={dashboard}")
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill(PASSWORD)
    page.locator('#login-form [type="submit"]').click()
    page.wait_for_url(f"{live_server.url}{dashboard}")

    chart = page.locator("#funnel-chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 250
    assert page.locator("#funnel-chart g.bf-bar").count() == 14
    drawn = page.locator("#funnel-chart g.bf-bar rect")
    assert drawn.count() > 14
    first_bar = drawn.first.bounding_box()
    assert first_bar is not None and first_bar["height"] > 1
    assert page.locator("#funnel-table tbody tr").count() == 14
    assert "Pembayaran terlambat: demo" in page.locator("#ops-alerts").inner_text()
    screenshot(page, "support-dashboard")
    screenshot(chart, "support-dashboard-chart")

    page.goto(live_server.url + reverse("admin:orders_order_change", args=[paid.order_id]))
    assert page.locator('select[name="status"], input[name="status"]').count() == 0
    assert page.get_by_role("button", name="Rekonsiliasi dengan Midtrans").is_visible()
    assert page.get_by_role("link", name="Kirim ulang notifikasi…").is_visible()
    timeline = page.locator("#order-timeline")
    assert timeline.is_visible()
    assert "Status order: Menunggu pembayaran → Lunas" in timeline.inner_text()
    # Raw payloads are collapsed: no JSON is visible until a <details> is opened.
    assert page.locator("#order-timeline details").count() >= 1
    assert not page.locator("#order-timeline details pre").first.is_visible()
    assert "f00-signature" not in page.content()
    # A typical paid order fits on two 900 px screens (it was 5,364 px with inline payloads).
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * 900, height
    screenshot(page, "support-order-page")

    page.goto(
        f"{live_server.url}{reverse('admin:orders_order_changelist')}?q={order.customer_email}"
    )
    assert page.get_by_role("link", name=order.order_id).is_visible()
    screenshot(page, "support-order-search")
