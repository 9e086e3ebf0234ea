"""Policy pages in a real browser: linked from the footer, rendered, readable at 375 px."""

import re

import pytest

from buatfilm.testing import screenshot
from courses.services import catalog_seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_policy_pages_render_and_are_linked(live_server, browser_page):
    catalog_seed()
    page = browser_page
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Silabus kursus").is_visible()
    page.get_by_text("Berapa lama akses kursusnya?").click()
    assert page.get_by_text("Seumur hidup. Kamu bisa belajar").is_visible()
    screenshot(page, "content-landing-desktop")
    for name, heading in [
        ("Kontak", "Kontak"),
        ("Syarat & ketentuan", "Syarat & ketentuan"),
        ("Kebijakan privasi", "Kebijakan privasi"),
        ("Kebijakan refund", "Kebijakan refund"),
    ]:
        page.get_by_role("navigation", name="Informasi toko").get_by_role("link", name=name).click()
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        screenshot(page, f"content-{re.sub(r'[^a-z]+', '-', name.lower())}-desktop")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/kebijakan-privasi/")
    assert page.get_by_role("heading", name="Hakmu").is_visible()
    # Nothing sticks out sideways on a small phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "content-privasi-375")
    page.goto(f"{live_server.url}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "content-landing-375")
    page.goto(f"{live_server.url}/checkout/pro/")
    assert page.get_by_text("kamu menyetujui").is_visible()
    screenshot(page, "content-checkout-375")
