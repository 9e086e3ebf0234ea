"""One-click access from the PAID status page, and sessions that fit the person."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from courses.tests.factories import customer_account
from notifications.models import NotificationOutbox, Template
from notifications.services import outbox_deliver
from orders.tests.lifecycle import order_in, paid_order
from supportdesk.models import AuditLog

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


def access_url(order, key=None) -> str:
    path = reverse("orders:access", kwargs={"order_id": order.order_id})
    return f"{path}?key={order.access_key if key is None else key}"


def course_path(order) -> str:
    return reverse("courses:detail", kwargs={"slug": order.package.course.slug})


def test_status_page_button_is_a_csrf_protected_post(client):
    order = paid_order()
    html = client.get(f"/orders/{order.order_id}/?key={order.access_key}").content.decode()
    assert f'action="{access_url(order)}"' in html.replace("&amp;", "&")
    assert "csrfmiddlewaretoken" in html


def test_one_click_logs_the_buyer_in_and_opens_the_course(client):
    order = paid_order(customer_email="budi@example.com")
    response = client.post(access_url(order))
    assert response.status_code == 302
    assert response["Location"] == course_path(order)
    assert client.get(course_path(order)).status_code == 200
    assert int(client.session["_auth_user_id"]) == User.objects.get(username="budi@example.com").pk
    row = AuditLog.objects.get(action="one_click_access")
    assert row.entity_id == order.order_id and row.new_value["reason"] == "ok"


def test_csrf_is_enforced(client):
    from django.test import Client

    order = paid_order()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(access_url(order)).status_code == 403
    assert "_auth_user_id" not in strict.session


@pytest.mark.parametrize("key", ["", "salah", "x" * 43, "\x00"])
def test_wrong_key_is_404_and_logs_nobody_in(client, key):
    order = paid_order()
    # A NUL is refused before the view (HostileInputMiddleware, 400); the rest are 404.
    expected = 400 if "\x00" in key else 404
    assert client.post(access_url(order, key=key)).status_code == expected
    assert "_auth_user_id" not in client.session


def test_get_is_not_allowed(client):
    order = paid_order()
    assert client.get(access_url(order)).status_code == 405


@pytest.mark.parametrize("status", ["PENDING_PAYMENT", "EXPIRED", "REFUNDED"])
def test_unpaid_order_is_404(client, status):
    order = order_in(status)
    assert client.post(access_url(order)).status_code == 404
    assert "_auth_user_id" not in client.session


def test_after_the_window_a_fresh_login_link_is_sent(
    client, settings, django_capture_on_commit_callbacks
):
    settings.ONE_CLICK_ACCESS_DAYS = 7
    order = paid_order(customer_email="budi@example.com")
    type(order).objects.filter(pk=order.pk).update(paid_at=order.paid_at - timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(access_url(order))
    deliver_login_links()
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Link masuk baru sudah kami kirim" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["budi@example.com"]]
    assert AuditLog.objects.get(action="one_click_access_refused").new_value["reason"] == (
        "window_over"
    )


def test_never_for_staff_accounts(client, django_capture_on_commit_callbacks):
    order = paid_order(customer_email="staf@example.com")
    User.objects.filter(username="staf@example.com").update(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(access_url(order))
    deliver_login_links()
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert mail.outbox == []  # staff never get login links either
    assert AuditLog.objects.get(action="one_click_access_refused").new_value["reason"] == (
        "staff_account"
    )


def test_customer_session_lasts_30_days_staff_12_hours(client, settings):
    settings.CUSTOMER_SESSION_DAYS = 30
    settings.STAFF_SESSION_HOURS = 12
    order = paid_order()
    client.post(access_url(order))
    assert client.session.get_expiry_age() == 30 * 24 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 30 * 24 * 3600

    staff_client = type(client)()
    staff = User.objects.create_user("admin-staf", password="x-Sangat-Rahasia-1", is_staff=True)
    staff_client.force_login(staff)
    assert staff_client.session.get_expiry_age() == 12 * 3600
    assert customer_account(email=order.customer_email).pk != staff.pk
