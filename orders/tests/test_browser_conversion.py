"""Issue 13 in a real browser (Debian chromium, Playwright): promo preview with and without
JavaScript, the 375 px checkout, back-button resume, retry with another method, the dead
number gone, the copy button.

Set BROWSER_SCREENSHOT_DIR=/tmp/shots to keep screenshots for a visual check.
"""

import re

import pytest

from buatfilm.testing import screenshot
from courses.services import catalog_seed
from orders.models import Order, OrderStatus, PromoCode

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_checkout(page, method="QRIS") -> None:
    page.get_by_label("Nama lengkap").fill("Budi Santoso")
    page.get_by_label("Email").fill("budi@example.com")
    page.get_by_label("Nomor WhatsApp").fill("0812-3456-7890")
    page.get_by_label(re.compile(method)).check()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_promo_preview(live_server, browser_page, javascript):
    catalog_seed()
    PromoCode.objects.create(code="HEMAT10", kind="PERCENT", value=10)
    page = browser_page
    if not javascript:
        context = page.context.browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="id-ID", java_script_enabled=False
        )
        page = context.new_page()
    page.goto(live_server.url + "/checkout/pro/")
    total = page.locator("[data-total]")
    assert total.inner_text() == "Rp 499.000"
    page.get_by_label("Nama lengkap").fill("Budi Santoso")
    page.get_by_label("Kode promo").fill("hemat10")
    url_before = page.url
    page.get_by_role("button", name="Terapkan").click()
    page.get_by_text("Diskon (HEMAT10)").wait_for()
    assert total.inner_text() == "Rp 449.100"
    assert page.get_by_label("Nama lengkap").input_value() == "Budi Santoso"
    if javascript:
        assert page.url == url_before  # refreshed in place
    screenshot(page, f"13-promo-{'js' if javascript else 'nojs'}")

    page.get_by_label("Kode promo").fill("NOPE")
    page.get_by_role("button", name="Terapkan").click()
    page.get_by_text("Kode promo tidak ditemukan.", exact=True).wait_for()
    assert page.locator("[data-total]").inner_text() == "Rp 499.000"
    assert not Order.objects.exists()


def test_checkout_at_375px_has_the_form_above_the_fold_and_no_horizontal_scroll(
    live_server, browser_page
):
    catalog_seed()
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(live_server.url + "/checkout/pro/")
    name = page.get_by_label("Nama lengkap")
    box = name.bounding_box()
    assert box is not None and box["y"] + box["height"] < 667
    assert no_horizontal_scroll(page)
    screenshot(page, "13-checkout-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "13-checkout-desktop")


def test_back_then_order_again_offers_to_resume(live_server, midtrans_sim, settings, phone_page):
    settings.SITE_URL = live_server.url
    catalog_seed()
    page = phone_page
    page.goto(live_server.url + "/checkout/starter/")
    fill_checkout(page)
    page.get_by_role("button", name="Order").click()
    page.wait_for_url(re.compile(re.escape(midtrans_sim.base_url) + "/snap/"))
    first = Order.objects.get()

    page.go_back()
    page.wait_for_url(re.compile("/checkout/starter/"))
    if not page.get_by_label("Nama lengkap").input_value():
        fill_checkout(page)
    page.get_by_role("button", name="Order").click()
    page.get_by_role("heading", name="Kamu masih punya pesanan yang belum dibayar").wait_for()
    assert Order.objects.count() == 1
    screenshot(page, "13-resume")
    assert no_horizontal_scroll(page)

    page.get_by_role("link", name="Lanjutkan pesanan sebelumnya").click()
    page.wait_for_url(re.compile(re.escape(f"/orders/{first.order_id}/")))
    assert page.get_by_role("heading", name="Menunggu pembayaran").is_visible()
    assert Order.objects.count() == 1
    assert first.status == OrderStatus.PENDING_PAYMENT
