"""After payment in a real browser: both login links (email and WhatsApp) work, each in its own
browser; the course, lesson and "Kursus saya" pages at desktop and 375 px."""

import re

import pytest

from buatfilm.testing import screenshot
from courses.services import catalog_seed
from notifications.models import Channel, NotificationOutbox, Template
from orders.models import Order
from orders.tests.lifecycle import order_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_both_login_links_work_in_separate_browsers(live_server, settings, browser_page):
    settings.SITE_URL = live_server.url
    catalog_seed()
    order = order_in("PAID", customer_email="budi@example.com")
    rows = NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    links = {row.channel: row.context["login_url"] for row in rows}
    assert links[Channel.EMAIL] != links[Channel.WHATSAPP]

    phone = browser_page  # the WhatsApp link, opened on the phone
    phone.set_viewport_size({"width": 375, "height": 812})
    phone.goto(links[Channel.WHATSAPP])
    phone.get_by_role("button", name="Masuk sekarang").click()
    phone.get_by_role("heading", name="Kursus saya").wait_for()
    screenshot(phone, "after-my-courses-375")

    laptop_context = phone.context.browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="id-ID"
    )
    try:
        laptop = laptop_context.new_page()
        laptop.goto(links[Channel.EMAIL])  # still valid after the WhatsApp one was used
        laptop.get_by_role("button", name="Masuk sekarang").click()
        laptop.get_by_role("heading", name="Kursus saya").wait_for()
        assert laptop.get_by_role("heading", name="Riwayat pesanan").is_visible()
        assert laptop.get_by_text(order.order_id).is_visible()
        screenshot(laptop, "after-my-courses-desktop")

        # Each link is single-use: the WhatsApp one again gives the clear page.
        laptop.goto(links[Channel.WHATSAPP])
        assert laptop.get_by_role("heading", name="Link masuk ini sudah tidak berlaku").is_visible()
        assert laptop.get_by_role("button", name="Kirim link masuk baru").is_visible()
        screenshot(laptop, "after-used-link-desktop")

        # The course and a lesson, desktop then phone.
        laptop.goto(f"{live_server.url}/courses/buat-film-pakai-ai/")
        assert laptop.get_by_text("0 dari 6 pelajaran selesai (0%)").is_visible()
        screenshot(laptop, "after-course-desktop")
        laptop.get_by_role("link", name="Mulai belajar").click()
        laptop.get_by_role("heading", name=re.compile("Pengenalan")).wait_for()
        assert laptop.get_by_role("heading", name="Yang kamu pelajari").is_visible()
        screenshot(laptop, "after-lesson-desktop")
        laptop.get_by_role("button", name=re.compile("Tandai selesai")).click()
        laptop.get_by_role("heading", name=re.compile("Menulis naskah")).wait_for()
        assert laptop.get_by_text("1 dari 6 pelajaran selesai (17%)").is_visible()
    finally:
        laptop_context.close()

    phone.goto(f"{live_server.url}/courses/buat-film-pakai-ai/")
    assert phone.get_by_text("1 dari 6 pelajaran selesai (17%)").is_visible()
    assert phone.get_by_role("link", name="Lanjutkan: Menulis naskah bersama AI").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "after-course-375")
    phone.get_by_role("link", name="Lanjutkan: Menulis naskah bersama AI").click()
    phone.get_by_role("heading", name=re.compile("Menulis naskah")).wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "after-lesson-375")
    phone.goto(f"{live_server.url}/my-courses/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "after-my-courses-progress-375")
    assert Order.objects.get().status == "PAID"
