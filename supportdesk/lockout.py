"""django-axes' answer to a locked-out admin login (`AXES_LOCKOUT_CALLABLE`): the site's own
page, in Indonesian, saying how long the lock lasts. Axes locks the (username, client IP) pair,
so the page speaks of this account from this address."""

from datetime import timedelta

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def duration_id(delta: timedelta) -> str:
    """'1 jam', '30 menit', '1 jam 30 menit' (at least one minute)."""
    minutes = max(1, round(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} jam"] if hours else []
    if minutes:
        parts.append(f"{minutes} menit")
    return " ".join(parts)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    cool_off = get_cool_off(request) or timedelta(0)
    context = {
        # The admin's own look (header, login box): the page answers an admin login.
        **admin.site.each_context(request),
        "title": "Login dikunci sementara",
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off": duration_id(cool_off) if cool_off else "",
        "until": timezone.localtime(timezone.now() + cool_off) if cool_off else None,
    }
    return render(request, "supportdesk/lockout.html", context, status=429)
