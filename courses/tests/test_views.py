"""Customer login by magic link and the course pages, through the Django test client."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import Entitlement, LoginLink
from courses.services import magic_link_token
from courses.tests.factories import LessonFactory, customer_account
from notifications.models import NotificationOutbox, OutboxStatus, Template
from notifications.services import Outcome, outbox_deliver
from notifications.tests.email_backends import ScriptedEmailBackend
from orders.tests.lifecycle import paid_order, refunded_order

pytestmark = pytest.mark.django_db
User = get_user_model()


def deliver_login_links() -> list[str]:
    """Deliver the queued login-link emails (as a worker would), nothing else."""
    rows = NotificationOutbox.objects.filter(template_name=Template.LOGIN_LINK).order_by("pk")
    return [outbox_deliver(outbox_id=pk) for pk in rows.values_list("pk", flat=True)]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def paid():
    order = paid_order(customer_email="budi@example.com")
    course = order.package.course
    LessonFactory(course=course, slug="pengenalan", title="Pengenalan", position=1)
    LessonFactory(course=course, slug="naskah", title="Menulis naskah", position=2)
    return order


def course_url(order) -> str:
    return reverse("courses:detail", kwargs={"slug": order.package.course.slug})


def lesson_url(order, lesson_slug: str) -> str:
    return reverse(
        "courses:lesson", kwargs={"slug": order.package.course.slug, "lesson_slug": lesson_slug}
    )


def login_link_in(message) -> str:
    match = re.search(r"http://[^\s\"<]+/login/[^\s\"<]+/", message.body)
    assert match, message.body
    return match.group(0).removeprefix("http://127.0.0.1:8000")


# --- Course pages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name", ["courses:my_courses", "courses:detail", "courses:lesson"], ids=str
)
def test_anonymous_is_sent_to_login(client, paid, url_name):
    url = {
        "courses:my_courses": reverse("courses:my_courses"),
        "courses:detail": course_url(paid),
        "courses:lesson": lesson_url(paid, "pengenalan"),
    }[url_name]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('courses:login')}?next={url}"


def test_without_entitlement_the_page_explains_and_links_to_buy(client, paid):
    client.force_login(customer_account(email="belum.beli@example.com"))
    for url in (course_url(paid), lesson_url(paid, "pengenalan")):
        response = client.get(url)
        assert response.status_code == 403
        content = response.content.decode()
        assert "belum punya akses" in content
        assert f'href="{reverse("orders:landing")}"' in content
        assert "Lihat paket dan beli kursus" in content
        assert "Menulis naskah" not in content  # no lesson content leaks


def test_revoked_entitlement_has_no_access(client):
    order = refunded_order(customer_email="refund@example.com")
    LessonFactory(course=order.package.course, slug="pengenalan")
    client.force_login(customer_account(email="refund@example.com"))
    response = client.get(course_url(order))
    assert response.status_code == 403
    assert "sudah tidak aktif" in response.content.decode()
    assert client.get(lesson_url(order, "pengenalan")).status_code == 403
    my = client.get(reverse("courses:my_courses")).content.decode()
    assert "Akses tidak aktif" in my and "Buka kursus" not in my


def test_paid_customer_sees_the_course_and_lessons(client, paid):
    client.force_login(customer_account(email="budi@example.com"))
    entitlement = Entitlement.objects.get(order=paid)
    assert entitlement.last_accessed_at is None

    detail = client.get(course_url(paid))
    assert detail.status_code == 200
    content = detail.content.decode()
    assert paid.package.course.title in content
    assert "Pengenalan" in content and "Menulis naskah" in content
    assert lesson_url(paid, "pengenalan") in content
    entitlement.refresh_from_db()
    assert entitlement.last_accessed_at is not None

    lesson = client.get(lesson_url(paid, "pengenalan"))
    assert lesson.status_code == 200
    assert lesson_url(paid, "naskah") in lesson.content.decode()  # "next" link

    my = client.get(reverse("courses:my_courses")).content.decode()
    assert "Buka kursus" in my and course_url(paid) in my
    assert "b***i@example.com" in my  # masked, never the full address


def test_unknown_lesson_and_inactive_course_are_404(client, paid):
    client.force_login(customer_account(email="budi@example.com"))
    assert client.get(lesson_url(paid, "tidak-ada")).status_code == 404
    course = paid.package.course
    course.is_active = False
    course.save()
    assert client.get(course_url(paid)).status_code == 404


def test_logout_is_a_post(client, paid):
    client.force_login(customer_account(email="budi@example.com"))
    assert client.get(reverse("courses:logout")).status_code == 405
    response = client.post(reverse("courses:logout"))
    assert response.status_code == 302
    assert client.get(course_url(paid)).status_code == 302  # back to login


# --- Magic link ----------------------------------------------------------------------------


def magic_url(user) -> str:
    return reverse("courses:magic_login", kwargs={"token": magic_link_token(user=user)})


def test_magic_link_get_only_asks_then_post_logs_in(client, paid):
    user = customer_account(email="budi@example.com")
    url = magic_url(user)

    # Mail scanners follow links: GETs never use the link up.
    for _ in range(2):
        page = client.get(url)
        assert page.status_code == 200
        assert "Masuk sekarang" in page.content.decode()
        assert "b***i@example.com" in page.content.decode()
    assert client.get(course_url(paid)).status_code == 302

    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:my_courses")
    assert client.get(course_url(paid)).status_code == 200
    user.refresh_from_db()
    assert user.last_login is not None


def test_reused_magic_link_shows_a_clear_message_and_a_new_link_form(client, paid):
    user = customer_account(email="budi@example.com")
    url = magic_url(user)
    assert client.post(url).status_code == 302
    client.logout()

    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 410
        content = response.content.decode()
        assert "sudah tidak berlaku" in content
        assert "hanya bisa dipakai sekali" in content
        assert f'action="{reverse("courses:login")}"' in content
    assert client.get(course_url(paid)).status_code == 302  # still logged out


def test_expired_magic_link_shows_a_clear_message(client, paid, settings):
    user = customer_account(email="budi@example.com")
    url = magic_url(user)
    later = timezone.now() + timedelta(hours=settings.MAGIC_LINK_MAX_AGE_HOURS, minutes=1)
    with time_machine.travel(later, tick=False):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 410
            assert "sudah kedaluwarsa" in response.content.decode()
        assert client.get(course_url(paid)).status_code == 302
    # Just inside the window it still works.
    with time_machine.travel(later - timedelta(minutes=2), tick=False):
        assert client.post(url).status_code == 302


def test_tampered_magic_link_is_invalid(client, paid):
    user = customer_account(email="budi@example.com")
    token = magic_link_token(user=user)
    tampered = reverse("courses:magic_login", kwargs={"token": token[:-2] + "xx"})
    assert client.post(tampered).status_code == 410


def test_staff_never_log_in_by_magic_link(client):
    staff = User.objects.create_user(username="rina@example.com", email="rina@example.com")
    staff.is_staff = True
    staff.save()
    url = magic_url(staff)
    assert client.get(url).status_code == 410
    assert client.post(url).status_code == 410
    assert "_auth_user_id" not in client.session


# --- "Kirim link masuk" --------------------------------------------------------------------


def request_link(client, email: str):
    return client.post(reverse("courses:login"), {"email": email})


def test_login_page_renders_a_form(client):
    response = client.get(reverse("courses:login"))
    assert response.status_code == 200
    assert "Kirim link masuk" in response.content.decode()


def request_queries(client, email: str):
    with CaptureQueriesContext(connection) as queries:
        response = request_link(client, email)
    # The statements with their values blanked: same statements = same work.
    shapes = [re.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", query["sql"]) for query in queries]
    return response, shapes


def test_login_link_answer_is_identical_for_known_and_unknown_emails(
    client, paid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as known_callbacks:
        known, known_queries = request_queries(client, "budi@example.com")
    with django_capture_on_commit_callbacks(execute=True) as unknown_callbacks:
        unknown, unknown_queries = request_queries(client, "budi@exampel.com")
    # The same database work (no lookup that only one of them pays for) and no email sent
    # inside the request (an ESP call would take ~300 ms for known emails only).
    assert known_queries == unknown_queries
    assert len(known_callbacks) == len(unknown_callbacks)
    assert mail.outbox == []
    deliver_login_links()

    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().replace("budi@example.com", "EMAIL") == (
        unknown.content.decode().replace("budi@exampel.com", "EMAIL")
    )
    assert sorted(known.cookies) == sorted(unknown.cookies)
    assert "Cek email kamu" in known.content.decode()
    # Only the customer gets an email, and its link logs them in.
    assert [m.to for m in mail.outbox] == [["budi@example.com"]]
    message = mail.outbox[0]
    assert "Link masuk" in message.subject
    assert message.alternatives and "Masuk ke kursus" in message.alternatives[0][0]
    link = login_link_in(message)
    assert client.post(link).status_code == 302
    assert client.get(course_url(paid)).status_code == 200


def test_login_link_email_is_case_insensitive(client, paid):
    request_link(client, "  BUDI@Example.com ")
    deliver_login_links()
    assert [m.to for m in mail.outbox] == [["budi@example.com"]]


def test_staff_email_gets_no_login_link(client):
    User.objects.create_user(username="admin@example.com", email="admin@example.com", is_staff=True)
    response = request_link(client, "admin@example.com")
    assert response.status_code == 200
    assert deliver_login_links() == [Outcome.CANCELLED]
    assert mail.outbox == []
    assert not LoginLink.objects.exists()


def test_the_login_link_email_goes_through_the_outbox_and_is_retried(client, paid, settings):
    """A failed send is retried (and ends in the DLQ like any message); the link is minted when
    the email goes out and never stored in the outbox row."""
    settings.EMAIL_BACKEND = "notifications.tests.email_backends.ScriptedEmailBackend"
    ScriptedEmailBackend.errors = [ConnectionError("ESP down")]
    request_link(client, "budi@example.com")
    row = NotificationOutbox.objects.get(template_name=Template.LOGIN_LINK)
    assert row.recipient == "budi@example.com" and row.order_id is None
    assert deliver_login_links() == [Outcome.RETRYING]
    assert mail.outbox == []
    with time_machine.travel(NotificationOutbox.objects.get(pk=row.pk).next_attempt_at):
        assert deliver_login_links() == [Outcome.SENT]
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert "login_url" not in row.context
    assert login_link_in(mail.outbox[0]) is not None


def test_an_unknown_email_is_recorded_as_cancelled_for_support(client, paid):
    request_link(client, "budi@exampel.com")
    assert deliver_login_links() == [Outcome.CANCELLED]
    row = NotificationOutbox.objects.get(template_name=Template.LOGIN_LINK)
    assert row.status == OutboxStatus.CANCELLED
    assert "tidak ada akun pelanggan" in row.last_error
    assert mail.outbox == []


def test_invalid_email_re_renders_with_message_and_typed_value(client):
    response = request_link(client, "budi@")
    assert response.status_code == 400
    content = response.content.decode()
    assert "Format email belum benar" in content
    assert 'value="budi@"' in content
    assert 'aria-invalid="true"' in content
    assert mail.outbox == []


@override_settings(RATELIMIT_ENABLE=True, LOGIN_LINK_RATE_PER_IP="3/h")
def test_login_link_requests_are_limited_per_ip(client, paid):
    statuses = [request_link(client, f"orang{i}@example.com").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert "Terlalu banyak permintaan" in request_link(client, "x@example.com").content.decode()
    other_ip = client.post(
        reverse("courses:login"), {"email": "budi@example.com"}, REMOTE_ADDR="10.9.8.7"
    )
    assert other_ip.status_code == 200


@override_settings(RATELIMIT_ENABLE=True, LOGIN_LINK_RATE_PER_EMAIL="2/h")
def test_login_link_emails_are_limited_per_address_with_the_same_answer(
    client, paid, django_capture_on_commit_callbacks
):
    responses = []
    for i in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            responses.append(
                client.post(
                    reverse("courses:login"),
                    {"email": "budi@example.com"},
                    REMOTE_ADDR=f"10.0.0.{i + 1}",
                )
            )
    deliver_login_links()
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert len(mail.outbox) == 2
