"""One renderer for both channels: an outbox row's stored `context` in, message text out.

Templates live in `notifications/templates/notifications/<template_name>/`:
`subject.txt`, `email.txt`, `email.html` (email) and `whatsapp.txt` (WhatsApp: plain text with
WhatsApp's own `*bold*`, never HTML). Only the stored context is used (plus values derived from
it, never from the database), so a retry or a worker on another machine sends the same words.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.template import Context, engines
from django.template.engine import Engine

from notifications.models import Channel, Template


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    subject: str = ""
    html: str = ""


class UnknownTemplate(ValueError):
    """The row names a template this code does not have."""


def _engine() -> Engine:
    return engines["django"].engine  # type: ignore[attr-defined]


def _render(name: str, context: dict[str, Any], *, autoescape: bool) -> str:
    # Plain-text parts are rendered without HTML escaping: "O'Brien" and "&" in URLs stay as-is.
    template = _engine().get_template(f"notifications/{name}")
    return template.render(Context(context, autoescape=autoescape))


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def message_context(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored context plus values derived only from it. "Bayar sekarang" goes to the status
    page, which offers the live payment or a new one, never to a Snap page that may be dead by
    the time the message is read (rows stored with a `redirect_url` included)."""
    context = dict(stored)
    payment = context.get("payment") or {}
    context["payment"] = payment
    context["pay_url"] = context.get("status_url", "")
    return context


PARTS = {
    Channel.EMAIL: ("subject.txt", "email.txt", "email.html"),
    Channel.WHATSAPP: ("whatsapp.txt",),
}


_TEMPLATES = frozenset(Template.values)  # `.values` builds a new list on every call


def templates_load(**_: Any) -> int:
    """Compile every message template now (the engine's cached loader keeps them): a worker
    does it at start (`buatfilm.memory.warm_up`), so its first messages do not pay for the
    template engine's set-up and the parsing. Returns how many were loaded."""
    engine = _engine()
    names = [
        f"notifications/{template}/{part}"
        for template in Template.values
        for parts in PARTS.values()
        for part in parts
    ]
    for name in names:
        engine.get_template(name)
    return len(names)


def render_message(*, template_name: str, channel: str, context: dict[str, Any]) -> RenderedMessage:
    """Render one message. Email: subject (one line), plain text and HTML; WhatsApp: text only.

    Raises `UnknownTemplate` for a template or channel this code does not know."""
    if template_name not in _TEMPLATES or channel not in PARTS:
        raise UnknownTemplate(f"no template {template_name!r} for channel {channel!r}")
    full = message_context(context)
    if channel == Channel.WHATSAPP:
        return RenderedMessage(
            text=_tidy_text(_render(f"{template_name}/whatsapp.txt", full, autoescape=False))
        )
    subject = " ".join(_render(f"{template_name}/subject.txt", full, autoescape=False).split())
    return RenderedMessage(
        subject=subject,
        text=_tidy_text(_render(f"{template_name}/email.txt", full, autoescape=False)),
        html=_render(
            f"{template_name}/email.html", full | {"email_subject": subject}, autoescape=True
        ),
    )
