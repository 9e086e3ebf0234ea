"""django-axes on the admin login: after AXES_FAILURE_LIMIT wrong passwords the account is
locked, and even the right password is refused until the cool-off (or `axes_reset`)."""

import pytest
from django.urls import reverse

from supportdesk.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, password: str, ip: str = "198.51.100.7"):
    return client.post(
        reverse("admin:login"),
        {"username": "root", "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


def test_admin_login_url_comes_from_settings(settings):
    assert reverse("admin:login") == f"/{settings.ADMIN_URL}login/"


def test_admin_login_locks_after_the_configured_failures(client, superuser, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit >= 2
    for _ in range(limit - 1):
        response = login(client, "wrong-password")
        assert response.status_code == 200  # the form again, with its error
    assert login(client, "wrong-password").status_code == 429

    locked = login(client, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302

    # The username is locked too, not only the address it was guessed from.
    assert login(client, PASSWORD, ip="192.0.2.44").status_code == 429


def test_a_successful_login_resets_the_counter(client, superuser, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        login(client, "wrong-password")
    ok = login(client, PASSWORD)
    assert ok.status_code == 302 and ok["Location"] == reverse("admin:index")
    client.logout()
    for _ in range(limit - 1):
        assert login(client, "wrong-password").status_code == 200
    assert login(client, PASSWORD).status_code == 302
