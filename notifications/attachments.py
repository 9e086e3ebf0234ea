"""Files attached to an email when it is sent (not stored in the outbox: rendered fresh from
the order at send time). Apps that own the data register a provider per template, so this app
never imports them (the payment-success email gets the PDF invoice from `orders`)."""

import logging
from collections.abc import Callable

from notifications.models import NotificationOutbox

Attachment = tuple[str, bytes, str]  # filename, content, MIME type
Provider = Callable[[NotificationOutbox], list[Attachment]]

logger = logging.getLogger(__name__)

_providers: dict[str, Provider] = {}


def attachment_provider_register(*, template: str, provider: Provider) -> None:
    _providers[template] = provider


def email_attachments(row: NotificationOutbox) -> list[Attachment]:
    """The row's attachments; if making one fails, the email goes without it (the customer's
    login link matters more than the PDF, which the status page also offers)."""
    provider = _providers.get(row.template_name)
    if provider is None:
        return []
    try:
        return provider(row)
    except Exception:
        logger.exception("attachment for outbox %s failed; sending without it", row.pk)
        return []
