"""Lessons with content and progress, and "Kursus saya" with order history."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from courses.models import Lesson, LessonProgress
from courses.services import catalog_seed
from courses.tests.factories import customer_account
from courses.video import lesson_video
from orders.models import Order
from orders.tests.lifecycle import order_in, paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def learner(client):
    catalog_seed()
    order = paid_order(customer_email="budi@example.com")
    client.force_login(customer_account(email="budi@example.com"))
    return order


def lessons():
    return list(Lesson.objects.order_by("position"))


def done_url(lesson) -> str:
    return reverse("courses:lesson_done", args=[lesson.course.slug, lesson.slug])


def course_html(client) -> str:
    return client.get("/courses/buat-film-pakai-ai/").content.decode()


def test_course_page_starts_at_zero_with_mulai_belajar(client, learner):
    html = course_html(client)
    assert "0 dari 6 pelajaran selesai (0%)" in html
    assert 'value="0"' in html and 'max="6"' in html
    assert "Mulai belajar" in html


def test_mark_done_moves_on_and_progress_and_lanjutkan_follow(client, learner):
    first, second = lessons()[:2]
    response = client.post(done_url(first))
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:lesson", args=[second.course.slug, second.slug])
    assert LessonProgress.objects.filter(lesson=first).count() == 1
    html = course_html(client)
    assert "1 dari 6 pelajaran selesai (17%)" in html
    assert f"Lanjutkan: {second.title}" in html
    # Marking twice keeps one row; unmarking removes it.
    client.post(done_url(first))
    assert LessonProgress.objects.filter(lesson=first).count() == 1
    client.post(done_url(first), {"done": "0"})
    assert not LessonProgress.objects.filter(lesson=first).exists()


def test_lanjutkan_goes_to_the_first_unfinished_lesson(client, learner):
    all_lessons = lessons()
    for lesson in (all_lessons[0], all_lessons[1], all_lessons[3]):
        client.post(done_url(lesson))
    assert f"Lanjutkan: {all_lessons[2].title}" in course_html(client)


def test_all_done(client, learner):
    for lesson in lessons():
        response = client.post(done_url(lesson))
    assert response["Location"] == "/courses/buat-film-pakai-ai/"
    html = course_html(client)
    assert "6 dari 6 pelajaran selesai (100%)" in html
    assert "Semua pelajaran sudah selesai" in html


def test_mark_done_needs_access_and_post(client):
    catalog_seed()
    stranger = customer_account(email="orang@example.com")
    client.force_login(stranger)
    lesson = lessons()[0]
    assert client.post(done_url(lesson)).status_code == 403
    assert client.get(done_url(lesson)).status_code == 405
    assert not LessonProgress.objects.exists()


def test_progress_is_per_learner(client, learner):
    client.post(done_url(lessons()[0]))
    other = paid_order(customer_email="sari@example.com")
    assert other.status == "PAID"
    client.force_login(customer_account(email="sari@example.com"))
    assert "0 dari 6 pelajaran selesai" in course_html(client)


def test_lesson_page_renders_markdown_body_and_embed(client, learner):
    lesson = lessons()[1]
    Lesson.objects.filter(pk=lesson.pk).update(
        video_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        body="## Judul\n\n<script>alert(1)</script> **tebal**",
    )
    response = client.get(reverse("courses:lesson", args=[lesson.course.slug, lesson.slug]))
    html = response.content.decode()
    # The CSP lets exactly the allow-listed players be framed.
    assert "frame-src https://www.youtube-nocookie.com" in response["Content-Security-Policy"]
    assert '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in html
    assert "<h2>Judul</h2>" in html and "<strong>tebal</strong>" in html
    assert "<script>alert(1)" not in html
    assert "Tandai selesai" in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://youtu.be/dQw4w9WgXcQ",
            ("embed", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ),
        ("https://vimeo.com/123456789", ("embed", "https://player.vimeo.com/video/123456789")),
        (
            "https://player.vimeo.com/video/123456789",
            ("embed", "https://player.vimeo.com/video/123456789"),
        ),
        (
            "https://iframe.mediadelivery.net/embed/1/abc",
            ("embed", "https://iframe.mediadelivery.net/embed/1/abc"),
        ),
        (
            "https://cdn.buatfilm.id/video/modul-1.mp4",
            ("file", "https://cdn.buatfilm.id/video/modul-1.mp4"),
        ),
        ("http://youtu.be/dQw4w9WgXcQ", None),
        ("https://evil.example/embed", None),
        ("javascript:alert(1)", None),
        ("https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ", None),
        ("https://user:pw@youtu.be/dQw4w9WgXcQ", None),
    ],
)
def test_video_allow_list(url, expected):
    video = lesson_video(url)
    assert (video and (video.kind, video.src)) == expected if expected else video is None


def test_editor_cannot_save_a_video_from_another_host():
    catalog_seed()
    lesson = lessons()[0]
    lesson.video_url = "https://evil.example/player"
    with pytest.raises(ValidationError):
        lesson.full_clean()


def test_my_courses_shows_orders_and_progress(client, learner):
    pending = order_in("PENDING_PAYMENT", customer_email="Budi@Example.com")
    order_in("PENDING_PAYMENT", customer_email="orang.lain@example.com")
    client.post(done_url(lessons()[0]))
    html = client.get("/my-courses/").content.decode()
    assert "1 dari 6 pelajaran selesai" in html
    assert "Lanjutkan:" in html
    assert "Riwayat pesanan" in html
    assert learner.order_id in html and pending.order_id in html
    assert Order.objects.filter(customer_email="orang.lain@example.com").get().order_id not in html
    assert f"/orders/{pending.order_id}/?key={pending.access_key}" in html
    assert "Lanjutkan pembayaran" in html
    assert f"/orders/{learner.order_id}/receipt.pdf?key={learner.access_key}" in html
    assert "Lunas" in html and "Menunggu pembayaran" in html
