"""The project's admin site (installed as the default `admin.site` by
`supportdesk.admin_apps.SupportAdminConfig`).

With `STAFF_OTP_REQUIRED=true` the login asks for a one-time code from a registered device
(django-otp: TOTP authenticator app, or static backup codes) and only sessions verified by one
are admitted. Off by default, so a superuser made with `createsuperuser` can log in to a
development site; production turns it on after staff have registered their devices.
"""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class SupportAdminSite(admin.AdminSite):
    site_header = "BuatFilm · Meja Support"
    site_title = "BuatFilm Support"
    index_title = "Meja support"
    # The changelists need the width (order lists have many columns); the index lists every model.
    enable_nav_sidebar = False

    # Read per request, so the setting can change without a restart (and in tests).
    @property
    def login_form(self) -> type[OTPAdminAuthenticationForm] | None:  # type: ignore[override]
        return OTPAdminAuthenticationForm if settings.STAFF_OTP_REQUIRED else None

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
