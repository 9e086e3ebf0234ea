"""Email through Django's mail API, so any django-anymail ESP (or SMTP, or the dev file backend)
chosen by EMAIL_BACKEND sends it. Timeouts: EMAIL_TIMEOUT (SMTP) and ANYMAIL REQUESTS_TIMEOUT
(HTTP ESPs), both set from the EMAIL_TIMEOUT env var."""

import smtplib
from email.utils import make_msgid, parseaddr
from typing import Any

from anymail.exceptions import (
    AnymailAPIError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailSerializationError,
    AnymailUnsupportedFeature,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives

from notifications.errors import DeliveryError, status_is_permanent
from notifications.rendering import RenderedMessage

# SMTP 5xx replies are final ("550 mailbox unavailable") except the ones about our credentials.
_SMTP_AUTH_CODES = frozenset({530, 534, 535, 538})


def _message_id_domain() -> str:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return address.rpartition("@")[2] or "buatfilm.local"


def _provider_message_id(message: EmailMultiAlternatives, fallback: str) -> str:
    status = getattr(message, "anymail_status", None)  # set by every anymail backend
    if status is not None and status.message_id is not None:
        value: Any = status.message_id
        if isinstance(value, set):  # different ids per recipient
            return ",".join(sorted(str(v) for v in value))
        return str(value)
    # The dev file backend sets its own id; SMTP/locmem have none, so our Message-ID stands in.
    return str(getattr(message, "provider_message_id", "") or fallback)


def classify_email_error(exc: Exception) -> DeliveryError:
    """Map whatever the email backend raised to a transient or permanent `DeliveryError`."""
    try:
        described = str(exc)
    except Exception:  # an exception whose __str__ fails must not hide the real error
        described = " ".join(str(arg) for arg in exc.args)
    text = f"{type(exc).__name__}: {described}"[:500]
    permanent = False
    status_code: int | None = None
    if isinstance(
        exc,
        AnymailRecipientsRefused
        | AnymailInvalidAddress
        | AnymailUnsupportedFeature
        | AnymailSerializationError,
    ):
        permanent = True
    elif isinstance(exc, AnymailAPIError):
        status_code = exc.status_code
        permanent = status_code is not None and status_is_permanent(status_code)
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        permanent = True
    elif isinstance(exc, smtplib.SMTPResponseException):
        status_code = exc.smtp_code
        permanent = 500 <= exc.smtp_code < 600 and exc.smtp_code not in _SMTP_AUTH_CODES
    elif isinstance(exc, ImproperlyConfigured):
        permanent = False  # our configuration: retry while ops fix it
    elif isinstance(exc, ValueError):  # a header or address Django refuses to build
        permanent = True
    return DeliveryError(text, permanent=permanent, status_code=status_code)


def send_email(
    *,
    to: list[str],
    rendered: RenderedMessage,
    headers: dict[str, str] | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, str] | None = None,
) -> str:
    """Send one email (subject + plain text + HTML alternative); returns the provider message id
    (anymail's `message_id`, the dev backend's id, or our own Message-ID header).

    Raises `DeliveryError` (transient or permanent)."""
    message_id = make_msgid(domain=_message_id_domain())
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Message-ID": message_id, **(headers or {})},
    )
    if rendered.html:
        message.attach_alternative(rendered.html, "text/html")
    # Read by anymail ESPs (tracking/webhooks); other backends ignore them.
    message.tags = tags or []  # type: ignore[attr-defined]
    message.metadata = metadata or {}  # type: ignore[attr-defined]
    try:
        sent = message.send(fail_silently=False)
    except Exception as exc:
        raise classify_email_error(exc) from exc
    if not sent:
        raise DeliveryError("email backend reported 0 messages sent", permanent=False)
    return _provider_message_id(message, fallback=message_id)
