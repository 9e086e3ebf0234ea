"""Staff two-factor login (django-otp). Off by default: a `createsuperuser` account logs in
with its password. With STAFF_OTP_REQUIRED=true only a session verified by a registered device
gets into the admin and the dashboard."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from supportdesk.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, **extra):
    data = {"username": "root", "password": PASSWORD, "next": reverse("admin:index")} | extra
    return client.post(reverse("admin:login"), data)


def current_code(device: TOTPDevice) -> str:
    return str(totp(device.bin_key, device.step, device.t0, device.digits, device.drift)).zfill(
        device.digits
    )


def test_password_alone_is_enough_by_default(client, superuser, settings):
    assert settings.STAFF_OTP_REQUIRED is False
    response = login(client)
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_with_otp_required_a_password_alone_is_refused(client, superuser, settings):
    settings.STAFF_OTP_REQUIRED = True
    response = login(client)
    assert response.status_code == 200
    assert 'name="otp_token"' in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("supportdesk:dashboard")).status_code == 302


def test_with_otp_required_a_valid_code_gets_in(client, superuser, settings):
    settings.STAFF_OTP_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no back-off between the wrong and the right code
    device = TOTPDevice.objects.create(user=superuser, name="ponsel", confirmed=True)
    wrong_code = "000000" if current_code(device) != "000000" else "111111"
    wrong = login(client, otp_device=device.persistent_id, otp_token=wrong_code)
    assert wrong.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302
    response = login(client, otp_device=device.persistent_id, otp_token=current_code(device))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("supportdesk:dashboard")).status_code == 200


def test_with_otp_required_an_unverified_session_is_not_staff(client, superuser, settings):
    settings.STAFF_OTP_REQUIRED = True
    client.force_login(superuser)  # password-authenticated session, no device
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 302


def test_the_totp_qr_code_renders_for_a_staff_device(client, superuser):
    device = TOTPDevice.objects.create(user=superuser, name="ponsel", confirmed=False)
    client.force_login(superuser)
    response = client.get(reverse("admin:otp_totp_totpdevice_qrcode", args=[device.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg


@pytest.mark.parametrize("who", ["superuser", "support_user"])
def test_the_totp_set_up_page_is_in_indonesian_in_the_admin_style(request, client, who):
    user = request.getfixturevalue(who)
    device = TOTPDevice.objects.create(user=user, name="ponsel", confirmed=False)
    client.force_login(request.getfixturevalue("superuser"))
    response = client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Atur kode login (OTP) untuk {user.get_username()}" in html
    assert "pindai kode QR" in html and "BuatFilm · Meja Support" in html
    assert reverse("admin:otp_totp_totpdevice_qrcode", args=[device.pk]) in html
    assert "Install" not in html and "style=" not in html and "<style" not in html
