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
from payments.models import PaymentAttempt

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


def test_fail_then_retry_with_another_method_then_pay(
    live_server, midtrans_sim, settings, phone_page
):
    settings.SITE_URL = live_server.url
    midtrans_sim.simulator.notification_url = live_server.url + "/payments/midtrans/notification/"
    catalog_seed()
    page = phone_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(live_server.url + "/checkout/pro/")
    fill_checkout(page, method="Virtual Account BNI")
    page.get_by_role("button", name="Order").click()
    page.wait_for_url(re.compile(re.escape(midtrans_sim.base_url) + "/snap/"))
    order = Order.objects.get()

    # The BNI VA is issued, then the payment fails at the bank.
    page.locator("#sim-choose").click()
    page.wait_for_url(re.compile(re.escape(f"/orders/{order.order_id}/")))
    va = PaymentAttempt.objects.get(order=order).va_number
    assert va and page.get_by_text(va).first.is_visible()
    page.get_by_role("button", name="Salin").first.click()
    page.get_by_role("button", name="Tersalin").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == va
    screenshot(page, "13-status-va-copied")
    assert no_horizontal_scroll(page)

    page.goto(PaymentAttempt.objects.get(order=order).redirect_url)
    page.locator("#sim-fail").click()
    page.wait_for_url(re.compile(re.escape(f"/orders/{order.order_id}/")))
    page.get_by_text("Pembayaran sebelumnya belum berhasil.").wait_for()
    assert va not in page.content()  # the dead number is gone
    retry_bni = page.get_by_role("radio", name=re.compile("Virtual Account BNI"))
    assert retry_bni.is_checked()  # the previous method preselected
    screenshot(page, "13-status-retry")
    assert no_horizontal_scroll(page)

    # Retry with QRIS: a new Snap transaction offering only QRIS.
    page.get_by_role("radio", name=re.compile("QRIS")).check()
    page.get_by_role("button", name="Coba bayar lagi").click()
    page.wait_for_url(re.compile(re.escape(midtrans_sim.base_url) + "/snap/"))
    assert page.locator("#sim-order-id").inner_text() == f"{order.order_id}-2"
    assert page.locator("#sim-method option").all_inner_texts() == ["QRIS"]
    page.locator("#sim-pay").click()
    page.wait_for_url(re.compile(re.escape(f"/orders/{order.order_id}/")))
    assert page.get_by_role("heading", name="Pembayaran berhasil").is_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.payment_method == "other_qris"


def test_an_expired_attempts_bill_key_disappears(live_server, midtrans_sim, settings, phone_page):
    settings.SITE_URL = live_server.url
    midtrans_sim.simulator.notification_url = live_server.url + "/payments/midtrans/notification/"
    catalog_seed()
    page = phone_page
    page.goto(live_server.url + "/checkout/pro/")
    fill_checkout(page, method="Mandiri Bill")
    page.get_by_role("button", name="Order").click()
    page.wait_for_url(re.compile(re.escape(midtrans_sim.base_url) + "/snap/"))
    order = Order.objects.get()
    page.locator("#sim-choose").click()
    page.wait_for_url(re.compile(re.escape(f"/orders/{order.order_id}/")))
    bill_key = PaymentAttempt.objects.get(order=order).bill_key
    assert page.get_by_text(bill_key).first.is_visible()
    page.get_by_text("ATM Mandiri").click()  # the collapsible steps open
    assert page.get_by_text("Multi Payment").first.is_visible()
    screenshot(page, "13-status-mandiri")

    page.goto(PaymentAttempt.objects.get(order=order).redirect_url)
    page.locator("#sim-expire").click()
    page.wait_for_url(re.compile(re.escape(f"/orders/{order.order_id}/")))
    page.get_by_text("Pembayaran sebelumnya belum berhasil.").wait_for()
    assert bill_key not in page.content()
    assert page.get_by_role("button", name="Coba bayar lagi").is_visible()
    screenshot(page, "13-status-expired-attempt")
