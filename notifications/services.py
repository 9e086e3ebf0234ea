"""Outbox writes. Rows are created inside the caller's transaction (the state change that causes
them) and handed to a worker only after that transaction commits."""

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from buatfilm.formatting import rupiah, wib
from notifications.models import Channel, NotificationOutbox, Template
from orders.models import Order

logger = logging.getLogger(__name__)

CUSTOMER_CHANNELS = (Channel.EMAIL, Channel.WHATSAPP)


def order_status_url(order: Order) -> str:
    path = reverse("orders:status", kwargs={"order_id": order.order_id})
    return f"{settings.SITE_URL}{path}?key={order.access_key}"


def order_message_context(order: Order) -> dict[str, Any]:
    """What every customer template may use, as plain JSON values (frozen into the row)."""
    attempt = order.attempts.order_by("-sequence").first()
    payment: dict[str, Any] = {}
    if attempt is not None:
        payment = {
            "midtrans_order_id": attempt.midtrans_order_id,
            "redirect_url": attempt.redirect_url,
            "payment_type": attempt.payment_type,
            "va_number": attempt.va_number,
            "bank": attempt.bank,
            "bill_key": attempt.bill_key,
            "biller_code": attempt.biller_code,
        }
    return {
        "order_id": order.order_id,
        "customer_name": order.customer_name,
        "package_name": order.package_name,
        "amount": order.final_amount,
        "amount_display": rupiah(order.final_amount),
        "payment_method": order.payment_method,
        "payment_method_display": order.get_payment_method_display(),
        "expires_at": order.expires_at.isoformat(),
        "expires_at_display": wib(order.expires_at),
        "status_url": order_status_url(order),
        "support_whatsapp_url": settings.SUPPORT_WHATSAPP_URL,
        "payment": payment,
    }


def _recipient(order: Order, channel: str) -> str:
    return order.customer_email if channel == Channel.EMAIL else order.customer_phone


def outbox_enqueue_for_order(
    *,
    order: Order,
    template: Template,
    extra_context: dict[str, Any] | None = None,
    channels: Iterable[Channel] = CUSTOMER_CHANNELS,
) -> list[NotificationOutbox]:
    """Queue one automatic message per channel for an order. A message that already exists for
    (order, channel, template) is left alone (the unique constraint decides, not a SELECT), so
    calling this twice sends nothing twice. Must run inside the caller's transaction."""
    context = order_message_context(order) | (extra_context or {})
    created = []
    for channel in channels:
        try:
            with transaction.atomic():  # savepoint: a duplicate must not poison the caller
                row = NotificationOutbox.objects.create(
                    order=order,
                    channel=channel,
                    template_name=template,
                    recipient=_recipient(order, channel),
                    context=context,
                    max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
                )
        except IntegrityError:
            logger.info("outbox row exists: %s/%s", template, channel)
            continue
        created.append(row)
    outbox_dispatch_on_commit([row.pk for row in created])
    return created


def ops_alert_enqueue(
    *, dedupe_key: str, subject: str, message: str, order: Order | None = None
) -> NotificationOutbox | None:
    """Queue one email to OPS_EMAIL; the same `dedupe_key` never alerts twice."""
    try:
        with transaction.atomic():
            row = NotificationOutbox.objects.create(
                order=order,
                channel=Channel.EMAIL,
                template_name=Template.OPS_ALERT,
                recipient=settings.OPS_EMAIL,
                context={
                    "subject": subject,
                    "message": message,
                    "order_id": order.order_id if order else "",
                },
                dedupe_key=dedupe_key[:200],
                max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
            )
    except IntegrityError:
        return None
    logger.warning("ops alert queued: %s", subject)
    outbox_dispatch_on_commit([row.pk])
    return row


def outbox_dispatch_on_commit(outbox_ids: list[int]) -> None:
    """After commit, hand each row to a worker. If the broker is down the rows stay PENDING and
    the periodic sweep delivers them: losing a task message loses nothing."""
    if not outbox_ids:
        return

    def dispatch() -> None:
        from notifications.tasks import deliver_outbox_message

        for outbox_id in outbox_ids:
            try:
                deliver_outbox_message.delay(outbox_id)
            except Exception:
                logger.exception("could not enqueue outbox %s; the sweep will", outbox_id)
                return

    transaction.on_commit(dispatch)


def outbox_deliver(*, outbox_id: int) -> None:
    """Claim, send and record one outbox row (delivery worker; see the outbox issue)."""
    raise NotImplementedError("delivery worker arrives with the outbox issue")
