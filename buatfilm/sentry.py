"""Error tracking: Sentry (or a self-hosted Sentry / GlitchTip, same protocol) when `SENTRY_DSN`
is set, with the Django and Celery integrations.

Nothing that opens an order, a course or Midtrans may leave the site in an error report:
`scrub_event` (the SDK's `before_send` and `before_send_transaction`) walks the whole event
and replaces every value under a secret-looking key (access keys, login tokens, signatures,
the server key, cookies, authorization headers, ...) and every secret found inside text (`?key=`
in URLs, `/login/<token>/`, Midtrans keys, JSON bodies), and masks emails and phone numbers the
way the logs do (`b***i@gmail.com`, `+62812****789`). User details (id, email, IP) are not
collected.
"""

from __future__ import annotations

import re
from typing import Any

from buatfilm.formatting import mask_email, mask_phone

FILTERED = "[Filtered]"

_SECRET_KEY_PARTS = (
    "signature",
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "cookie",
    "session",
    "csrf",
    "dsn",
    "key",  # access_key, server_key, client_key, api_key, x-order-key, idempotency-key
)
# Whole links that embed a secret (status pages carry the access key, logins a token).
_SECRET_KEYS = frozenset({"login_url", "status_url", "redirect_url", "access_url"})

_SECRET_PARAM = re.compile(
    r"(?i)((?:^|[?&;\s]|&amp;)(?:key|token|signature|signature_key|access_key|sig)=)[^&#\s\"'<>]+"
)
_LOGIN_PATH = re.compile(r"(/login/)[^/\s\"'?#<>]+")
_JSON_SECRET = re.compile(
    r"(?i)(\"[^\"]*(?:signature|token|secret|password|key)[^\"]*\"\s*:\s*\")[^\"]*(\")"
)
_MIDTRANS_KEY = re.compile(r"\b(?:SB-)?Mid-(?:server|client)-[A-Za-z0-9_-]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Indonesian mobile numbers as customers type them and as we store them (E.164).
_PHONE = re.compile(r"(?<![\w])(?:\+?62|0)8\d{7,12}(?!\d)")


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_KEY_PARTS)


def _mask_phone_text(match: re.Match[str]) -> str:
    number = match.group(0)
    if number.startswith("0"):
        number = "+62" + number[1:]
    elif not number.startswith("+"):
        number = "+" + number
    return mask_phone(number)


def scrub_text(text: str) -> str:
    """Secrets out of free text, emails and phone numbers masked."""
    text = _SECRET_PARAM.sub(rf"\1{FILTERED}", text)
    text = _LOGIN_PATH.sub(rf"\1{FILTERED}", text)
    text = _JSON_SECRET.sub(rf"\1{FILTERED}\2", text)
    text = _MIDTRANS_KEY.sub(FILTERED, text)
    text = _BEARER.sub(rf"\1 {FILTERED}", text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(_mask_phone_text, text)


def scrub(value: Any) -> Any:
    """A scrubbed copy of any JSON-like value: secret keys blanked at any depth, text scrubbed.
    Lists of `[name, value]` pairs (how the SDK sends headers and query strings sometimes) are
    treated as mappings."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and is_secret_key(key) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if (
                isinstance(item, list | tuple)
                and len(item) == 2
                and isinstance(item[0], str)
                and is_secret_key(item[0])
            ):
                items.append([item[0], FILTERED])
            else:
                items.append(scrub(item))
        return items
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """`before_send`: the event with every secret and personal detail removed or masked."""
    return scrub(event)


def sentry_init(
    *, dsn: str, environment: str, release: str | None, traces_sample_rate: float
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        data_collection={"user_info": False},  # no user ids, emails or IPs
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        max_request_body_size="small",
    )
