"""django-axes on the admin login: after AXES_FAILURE_LIMIT wrong passwords the (username, client
IP) pair is locked, and even the right password is refused from there until the cool-off (or
`axes_reset`); the same account still logs in from another client, also behind our proxy."""

import pytest
from django.urls import reverse

from supportdesk.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, password: str, ip: str = "198.51.100.7", **headers):
    return client.post(
        reverse("admin:login"),
        {"username": "root", "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
        **headers,
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

    # The pair is locked, not the account: its owner logs in from another address.
    assert login(client, PASSWORD, ip="192.0.2.44").status_code == 302


def test_behind_the_proxy_one_clients_failures_lock_only_that_client(client, superuser, settings):
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.5"  # every request arrives from the load balancer
    attacker = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "wrong-password", ip=proxy, **attacker)
    assert login(client, PASSWORD, ip=proxy, **attacker).status_code == 429
    # Recorded under the client's address, which the proxy appended, not the proxy's.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}

    client.logout()
    colleague = {"HTTP_X_FORWARDED_FOR": "198.51.100.23"}
    response = login(client, PASSWORD, ip=proxy, **colleague)
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_the_lockout_page_is_in_the_admins_style_and_says_how_long(client, superuser, settings):
    settings.AXES_COOLOFF_TIME = 1.5
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "wrong-password")
    response = login(client, PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Login dikunci sementara" in html
    assert "Coba lagi dalam <strong>1 jam 30 menit</strong>" in html
    assert "WIB" in html
    assert "admin/css/base.css" in html and "BuatFilm · Meja Support" in html  # admin style
    assert "Kembali ke halaman login" in html
    assert "style=" not in html and "<style" not in html


def test_lockout_durations_read_naturally():
    from datetime import timedelta

    from supportdesk.lockout import duration_id

    assert duration_id(timedelta(hours=1)) == "1 jam"
    assert duration_id(timedelta(minutes=30)) == "30 menit"
    assert duration_id(timedelta(hours=2, minutes=5)) == "2 jam 5 menit"
    assert duration_id(timedelta(seconds=10)) == "1 menit"


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


def test_a_wrong_password_says_so_without_repeating_words(client, superuser):
    response = login(client, "wrong-password")
    html = response.content.decode()
    assert "Masukkan nama pengguna dan kata sandi yang benar untuk akun staf." in html
    assert "nama pengguna nama pengguna" not in html
