"""The pages a shop must have: seeded Indonesian texts, editable by content editors, linked
from every page's footer and from the checkout form; the landing FAQ and course outline."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from content.models import FaqItem, ShopPage
from courses.models import Lesson
from courses.services import catalog_seed

pytestmark = pytest.mark.django_db

PAGES = {
    "/kontak/": "Kontak",
    "/syarat-ketentuan/": "Syarat &amp; ketentuan",
    "/kebijakan-privasi/": "Kebijakan privasi",
    "/kebijakan-refund/": "Kebijakan refund",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders_its_seeded_text(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<h1 id="page-title">{PAGES[path]}</h1>' in html
    assert len(re.sub(r"<[^>]+>", "", html)) > 600  # a real text, not a stub


def test_privacy_page_says_what_is_kept_and_how_to_ask_for_deletion(client):
    html = client.get("/kebijakan-privasi/").content.decode()
    assert "UU No. 27 Tahun 2022" in html
    assert "penghapusan" in html and "WhatsApp" in html


def test_contact_and_terms_show_the_seller_identity_from_settings(client, settings):
    settings.SELLER_NAME = "PT Buat Film Nusantara"
    settings.SELLER_ADDRESS = "Jl. Kemang Raya 10, Jakarta Selatan"
    settings.SELLER_TAX_ID = "01.234.567.8-901.000"
    for path in ("/kontak/", "/syarat-ketentuan/"):
        html = client.get(path).content.decode()
        assert "PT Buat Film Nusantara" in html
        assert "Jl. Kemang Raya 10, Jakarta Selatan" in html
        assert "01.234.567.8-901.000" in html


@pytest.mark.parametrize("path", ["/", "/login/", "/kontak/", "/checkout/pro/"])
def test_every_page_footer_links_all_four(client, path):
    catalog_seed()
    html = client.get(path).content.decode()
    footer = html[html.index('<footer class="site-footer">') :]
    for link in PAGES:
        assert f'href="{link}"' in footer


def test_checkout_form_has_the_consent_line(client):
    catalog_seed()
    html = client.get("/checkout/pro/").content.decode()
    form = html[html.index("<form") : html.index("</form>")]
    assert "kamu menyetujui" in form
    for link in ("/syarat-ketentuan/", "/kebijakan-refund/", "/kebijakan-privasi/"):
        assert f'href="{link}"' in form


def test_editor_changes_a_page_in_the_admin_and_it_is_live(client, settings):
    editor = User.objects.create_user("carol", password="x-Sangat-Rahasia-1", is_staff=True)
    editor.groups.add(Group.objects.get(name="Content editors"))
    client.force_login(editor)
    page = ShopPage.objects.get(slug="kebijakan-refund")
    url = f"/{settings.ADMIN_URL}content/shoppage/{page.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"title": "Kebijakan refund", "body": "Refund **14 hari**."})
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    html = client.get("/kebijakan-refund/").content.decode()
    assert "Refund <strong>14 hari</strong>." in html


def test_editor_rights_cover_pages_and_faq():
    perms = {p.codename for p in Group.objects.get(name="Content editors").permissions.all()}
    assert {"change_shoppage", "add_faqitem", "change_faqitem", "delete_faqitem"} <= perms


def test_markdown_is_rendered_safely(client):
    ShopPage.objects.filter(slug="kontak").update(
        body='<script>alert(1)</script> [klik](javascript:alert(2)) <img src=x onerror="y">'
    )
    html = client.get("/kontak/").content.decode()
    assert "<script>alert(1)" not in html
    assert 'href="javascript:' not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_unknown_page_is_404(client):
    assert client.get("/kebijakan-lain/").status_code == 404


def test_landing_has_faq_and_course_outline(client):
    catalog_seed()
    FaqItem.objects.create(question="Pertanyaan tersembunyi?", answer="x", is_published=False)
    html = client.get("/").content.decode()
    assert "Pertanyaan yang sering ditanyakan" in html
    assert "Berapa lama akses kursusnya?" in html
    assert "Pertanyaan tersembunyi?" not in html
    assert "Silabus kursus" in html and "6 modul video" in html
    for lesson in Lesson.objects.all():
        assert lesson.title in html
        assert f"{lesson.duration_minutes} menit" in html


def test_seed_catalog_gives_six_lessons_with_real_outline_text():
    catalog_seed()
    lessons = list(Lesson.objects.order_by("position"))
    assert len(lessons) == 6
    for lesson in lessons:
        assert lesson.duration_minutes > 0
        assert "## Yang kamu pelajari" in lesson.body and len(lesson.body) > 300


def test_seed_catalog_keeps_an_editors_lesson_text():
    catalog_seed()
    Lesson.objects.filter(slug="naskah").update(body="Teks dari editor")
    catalog_seed()
    assert Lesson.objects.get(slug="naskah").body == "Teks dari editor"
