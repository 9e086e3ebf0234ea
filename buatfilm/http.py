"""Request helpers every app shares: who is calling (behind our own proxies) and per-IP rate
limits keyed on that address."""

import ipaddress
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django_ratelimit import ALL
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT says how many of our own
    proxies append to X-Forwarded-For; then the entry that many hops from the right (the
    address our outermost proxy saw). Entries further left are client-controlled and ignored."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [
            part.strip()
            for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                logger.warning("unparseable X-Forwarded-For entry; using REMOTE_ADDR")
    return remote


def client_ip_or_none(request: HttpRequest) -> str | None:
    return client_ip(request) or None


def ratelimit_ip_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit key: the real client address, not a shared proxy's."""
    return client_ip(request)


def user_agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:300]


def rate_limited(*, group: str, rate: str, method: str | list[str] = ALL) -> Callable[[View], View]:
    """`django_ratelimit.ratelimit(block=True)` keyed on `client_ip`, answering with
    `RATELIMIT_VIEW` (429, JSON for /api/) itself, so it also works around DRF views, which
    would otherwise turn the `Ratelimited` (a PermissionDenied) into a 403."""

    def decorator(view: View) -> View:
        limited = ratelimit(
            group=group, key=ratelimit_ip_key, rate=rate, method=method, block=True
        )(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return limited(request, *args, **kwargs)
            except Ratelimited as exc:
                answer: Callable[[HttpRequest, Exception], HttpResponse] = import_string(
                    settings.RATELIMIT_VIEW
                )
                return answer(request, exc)

        return wrapper

    return decorator
