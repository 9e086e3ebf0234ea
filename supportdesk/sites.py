"""The project's admin site (installed as the default `admin.site` by
`supportdesk.admin_apps.SupportAdminConfig`).

With `STAFF_OTP_REQUIRED=true` the login asks for a one-time code from a registered device
(django-otp: TOTP authenticator app, or static backup codes) and only sessions verified by one
are admitted. Off by default, so a superuser made with `createsuperuser` can log in to a
development site; production turns it on after staff have registered their devices.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

# Django's Indonesian catalogue says "nama pengguna %(username)s", and %(username)s is itself
# "nama pengguna": the message read "Masukkan nama pengguna nama pengguna …".
INVALID_LOGIN = (
    "Masukkan %(username)s dan kata sandi yang benar untuk akun staf. Perhatikan: keduanya "
    "membedakan huruf besar dan kecil."
)


class StaffLoginForm(AdminAuthenticationForm):
    error_messages = {**AdminAuthenticationForm.error_messages, "invalid_login": INVALID_LOGIN}


class StaffOTPLoginForm(OTPAdminAuthenticationForm):
    error_messages = {**OTPAdminAuthenticationForm.error_messages, "invalid_login": INVALID_LOGIN}


class SupportAdminSite(admin.AdminSite):
    site_header = "BuatFilm · Meja Support"
    site_title = "BuatFilm Support"
    index_title = "Meja support"
    # The changelists need the width (order lists have many columns); the index lists every model.
    enable_nav_sidebar = False

    # Read per request, so the setting can change without a restart (and in tests).
    @property
    def login_form(self) -> type[AdminAuthenticationForm]:  # type: ignore[override]
        return StaffOTPLoginForm if settings.STAFF_OTP_REQUIRED else StaffLoginForm

    @property
    def login_template(self) -> str | None:  # type: ignore[override]
        return OTPAdminSite.login_template if settings.STAFF_OTP_REQUIRED else None

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        if not settings.STAFF_OTP_REQUIRED:
            return True
        is_verified = getattr(request.user, "is_verified", None)  # set by OTPMiddleware
        return bool(is_verified and is_verified())
