"""The customer journey in a real browser (Debian chromium, Playwright), on a phone-sized
viewport, against the live site and the Midtrans simulator over real HTTP.

Set BROWSER_SCREENSHOT_DIR=/tmp/shots to keep screenshots of each step for a visual check.
"""

import re
import time

import pytest
from pypdf import PdfReader

from buatfilm.testing import screenshot
from courses.models import Entitlement, Package
from courses.services import catalog_seed
from orders.models import Order, OrderStatus
from payments.models import AttemptStatus, PaymentAttempt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNTDOWN = re.compile(r"^\d{2}:\d{2}:\d{2}$")


def test_customer_buys_and_lands_on_a_live_status_page(
    live_server, midtrans_sim, settings, phone_page
):
    settings.SITE_URL = live_server.url
    midtrans_sim.simulator.notification_url = live_server.url + "/payments/midtrans/notification/"
    catalog_seed()
    page = phone_page

    # Landing: packages with prices, "Order Sekarang".
    page.goto(live_server.url + "/")
    assert page.get_by_role("heading", name="Buat Film Pakai AI").is_visible()
    assert page.get_by_text("Rp 499.000").is_visible()
    screenshot(page, "1-landing")
    page.get_by_role("link", name="Order Sekarang: Paket Pro").click()
    page.wait_for_url(f"{live_server.url}/checkout/pro/")

    # UC-007: invalid data is explained next to each field, typed values stay.
    page.get_by_label("Nama lengkap").fill("B")
    page.get_by_label("Email").fill("budi@")
    page.get_by_label("Nomor WhatsApp").fill("021 555 1234")
    page.get_by_role("button", name="Order").click()
    alert = page.get_by_role("alert")
    assert "Periksa lagi isian berikut" in alert.inner_text()
    assert page.get_by_text("Nama terlalu pendek: minimal 3 karakter.").first.is_visible()
    assert page.get_by_label("Nama lengkap").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Nomor WhatsApp").input_value() == "021 555 1234"
    screenshot(page, "2-checkout-errors")
    assert not Order.objects.exists()

    # Fixed: the order is created and the customer is sent to the (simulated) Snap page.
    page.get_by_label("Nama lengkap").fill("Budi Santoso")
    page.get_by_label("Email").fill("budi@example.com")
    page.get_by_label("Nomor WhatsApp").fill("0812-3456-7890")
    page.get_by_label(re.compile("Virtual Account BCA")).check()
    page.get_by_role("button", name="Order").click()
    page.wait_for_url(re.compile(re.escape(midtrans_sim.base_url) + "/snap/v4/redirection/"))
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.customer_phone == "+6281234567890"
    assert page.locator("#sim-order-id").inner_text() == f"{order.order_id}-1"
    assert page.locator("#sim-amount").inner_text() == "Rp 499.000"
    screenshot(page, "3-snap-simulator")

    # The customer picks the method; Snap's finish redirect brings them back to the status page
    # (with Midtrans' query parameters, which the page ignores).
    page.locator("#sim-choose").click()
    page.wait_for_url(re.compile(re.escape(f"{live_server.url}/orders/{order.order_id}/")))
    assert f"key={order.access_key}" in page.url
    assert "transaction_status=pending" in page.url
    assert page.get_by_role("heading", name="Menunggu pembayaran").is_visible()
    assert page.get_by_text("Rp 499.000").first.is_visible()
    assert "b***i@example.com" in page.content()
    assert "budi@example.com" not in page.content()

    # The countdown runs, from the server's clock: about 24 h left.
    countdown = page.locator("[data-countdown]")
    first = countdown.inner_text()
    time.sleep(1.5)
    second = countdown.inner_text()
    assert COUNTDOWN.match(first) and COUNTDOWN.match(second)
    assert first.startswith("23:59") or first.startswith("24:00")
    assert second != first
    screenshot(page, "4-status-pending")

    # The pay link on the status page leads back to the same Snap transaction.
    attempt = PaymentAttempt.objects.get()
    assert attempt.status == AttemptStatus.PENDING
    assert (
        page.get_by_role(
            "link", name=re.compile("Buka halaman pembayaran Midtrans|Bayar sekarang")
        ).get_attribute("href")
        == attempt.redirect_url
    )

    # The customer pays on the Snap page: the simulator sends the signed settlement to the real
    # webhook, and the finish redirect lands on a status page that renders server truth: PAID.
    page.goto(attempt.redirect_url)
    page.locator("#sim-pay").click()
    page.wait_for_url(re.compile(re.escape(f"{live_server.url}/orders/{order.order_id}/")))
    assert page.get_by_role("heading", name="Pembayaran berhasil").is_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Entitlement.objects.filter(order=order, status="ACTIVE").count() == 1
    screenshot(page, "5-status-paid")

    # "Buka kursus" logs the buyer in with one click (a CSRF-protected POST) and opens the course.
    page.get_by_role("button", name="Buka kursus").click()
    page.wait_for_url(re.compile(re.escape(f"{live_server.url}/courses/buat-film-pakai-ai/")))
    assert page.get_by_role("heading", name="Buat Film Pakai AI").is_visible()
    assert page.get_by_text("Menulis naskah bersama AI").first.is_visible()
    screenshot(page, "6-course")

    # The learner starts, marks the first lesson done (and moves on), and the course page shows
    # the progress and "Lanjutkan" to the next unfinished lesson.
    page.get_by_role("link", name="Mulai belajar").click()
    page.get_by_role("heading", name=re.compile("Pengenalan")).wait_for()
    page.get_by_role("button", name=re.compile("Tandai selesai")).click()
    page.get_by_role("heading", name=re.compile("Menulis naskah bersama AI")).wait_for()
    page.get_by_role("link", name="Buat Film Pakai AI").first.click()
    page.get_by_text("1 dari 6 pelajaran selesai (17%)").wait_for()
    assert page.get_by_role("link", name="Lanjutkan: Menulis naskah bersama AI").is_visible()
    screenshot(page, "6b-course-progress")


def fill_valid_checkout(page) -> None:
    page.get_by_label("Nama lengkap").fill("Budi Santoso")
    page.get_by_label("Email").fill("budi@example.com")
    page.get_by_label("Nomor WhatsApp").fill("0812-3456-7890")
    page.get_by_label(re.compile("QRIS")).check()


def test_midtrans_down_shows_the_retry_page_and_retry_reaches_snap(
    live_server, midtrans_sim, settings, phone_page
):
    settings.SITE_URL = live_server.url
    settings.MIDTRANS_READ_TIMEOUT = 0.3
    settings.MIDTRANS_MAX_RETRIES = 0
    catalog_seed()
    midtrans_sim.simulator.delay_next(count=1, seconds=1.5, path_prefix="/snap/")
    page = phone_page

    page.goto(live_server.url + "/checkout/starter/")
    fill_valid_checkout(page)
    page.get_by_role("button", name="Order").click()

    heading = page.get_by_role("heading", name="Pembayaran belum bisa dibuat, pesananmu aman")
    heading.wait_for()
    order = Order.objects.get()
    assert order.status == OrderStatus.CREATED
    assert (
        page.get_by_role("link", name="Lihat status pesanan")
        .get_attribute("href")
        .endswith(f"/orders/{order.order_id}/?key={order.access_key}")
    )
    screenshot(page, "5-payment-unavailable")

    page.get_by_role("button", name="Coba lagi").click()
    page.wait_for_url(re.compile(re.escape(midtrans_sim.base_url) + "/snap/v4/redirection/"))
    assert page.locator("#sim-order-id").inner_text() == f"{order.order_id}-2"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_paid_order_status_and_printable_receipt(live_server, settings, phone_page):
    from orders.services import order_transition
    from orders.tests.factories import OrderFactory
    from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

    settings.SITE_URL = live_server.url
    catalog_seed()
    order = OrderFactory(package=Package.objects.get(code="pro"), customer_email="sari@example.com")
    attempt = PaymentAttemptFactory(order=order, status=AttemptStatus.COMPLETED)
    order_transition(
        order_id=order.order_id,
        to_status=OrderStatus.PAID,
        actor="test",
        payment_event=PaymentEventFactory(attempt=attempt),
    )
    page = phone_page

    page.goto(f"{live_server.url}/orders/{order.order_id}/?key={order.access_key}")
    assert page.get_by_role("heading", name=re.compile("Pembayaran berhasil")).is_visible()
    assert page.get_by_role("button", name="Buka kursus").is_visible()
    screenshot(page, "6-status-paid")

    page.get_by_role("link", name="Lihat kuitansi").click()
    page.get_by_role("heading", name="Kuitansi pembayaran").wait_for()
    assert "INV-" + order.order_id.removeprefix("BF-") in page.content()
    assert "sari@example.com" in page.content()  # the buyer's own document: in full
    screenshot(page, "7-receipt")

    # The PDF invoice downloads, and its text carries the order id and the total.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Unduh PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    reader = PdfReader(download.path())
    text = "\n".join(pdf_page.extract_text() for pdf_page in reader.pages)
    assert order.order_id in text and "Rp 499.000" in text and "LUNAS" in text

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="Cetak").is_visible()
    assert page.get_by_role("heading", name="Kuitansi pembayaran").is_visible()


def test_the_status_page_follows_the_server_by_polling(live_server, settings, phone_page):
    from orders.services import order_transition
    from orders.tests.factories import OrderFactory
    from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

    settings.SITE_URL = live_server.url
    catalog_seed()
    order = OrderFactory(package=Package.objects.get(code="starter"))
    attempt = PaymentAttemptFactory(order=order, redirect_url="http://127.0.0.1:9/snap/x")
    page = phone_page
    page.goto(f"{live_server.url}/orders/{order.order_id}/?key={order.access_key}")
    assert page.get_by_role("heading", name="Menunggu pembayaran").is_visible()

    # A VA number arrives (webhook "pending"): the page shows it without a manual refresh.
    PaymentAttempt.objects.filter(pk=attempt.pk).update(va_number="12345678901", bank="bca")
    page.get_by_text("12345678901").wait_for(timeout=12_000)

    # The payment is confirmed: the page turns to success by itself.
    order_transition(
        order_id=order.order_id,
        to_status=OrderStatus.PAID,
        actor="test",
        payment_event=PaymentEventFactory(attempt=attempt),
    )
    page.get_by_role("heading", name="Pembayaran berhasil").wait_for(timeout=12_000)
    assert page.get_by_role("button", name="Buka kursus").is_visible()
