"""How long a login lasts: customers 30 days, staff 12 hours (settings, env). Applied on every
login (magic link, one-click access, admin) through the `user_logged_in` signal, so no login
path can forget it."""

from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


def session_age_seconds(user: AbstractBaseUser) -> int:
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return int(settings.STAFF_SESSION_HOURS * 60 * 60)
    return int(settings.CUSTOMER_SESSION_DAYS * 24 * 60 * 60)


def session_expiry_on_login(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    if request is not None and hasattr(request, "session"):
        request.session.set_expiry(session_age_seconds(user))
