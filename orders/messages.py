"""The customer messages about an order: what each one says (its context), who gets it, and when
it still makes sense (its relevance rule). The outbox (`notifications`) knows none of this: it
stores the rendered context, the recipient and the relevance rule the row was queued with."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.urls import reverse

from buatfilm.formatting import rupiah, wib
from courses.services import access_message_context
from notifications import services as outbox
from notifications.models import Channel, NotificationOutbox, Template
from orders.models import Order, OrderStatus
from orders.selectors import order_invoice_number, order_receipt_pdf_url, order_status_url
from payments.models import AttemptStatus, PaymentAttempt

S = OrderStatus
CUSTOMER_CHANNELS = (Channel.EMAIL, Channel.WHATSAPP)

# Each customer template and the order statuses it is valid in. A row whose order has left
# them by the time a worker claims it becomes CANCELLED, never sent (a "belum dibayar" reminder
# to a customer who has paid); support can resend only templates valid now.
VALID_IN: dict[str, frozenset[str]] = {
    Template.PAYMENT_INSTRUCTION: frozenset({S.PENDING_PAYMENT}),
    Template.PAYMENT_REMINDER: frozenset({S.PENDING_PAYMENT}),
    Template.PAYMENT_SUCCESS_ACCESS: frozenset({S.PAID}),
    Template.PAYMENT_FAILED: frozenset({S.FAILED}),
    Template.ORDER_EXPIRED: frozenset({S.EXPIRED}),
    # One per payment attempt (deduplicated by attempt): useless once the order is paid/closed.
    Template.PAYMENT_ATTEMPT_FAILED: frozenset({S.PENDING_PAYMENT}),
    Template.PAYMENT_DETAILS: frozenset({S.PENDING_PAYMENT}),
    Template.ORDER_REFUNDED: frozenset({S.REFUNDED}),
}


def _site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _payment_context(attempt: PaymentAttempt | None) -> dict[str, Any]:
    # Only a live attempt's number: a failed/expired one is dead (the status page offers a
    # retry instead).
    if attempt is None or attempt.status != AttemptStatus.PENDING:
        return {}
    return {
        "midtrans_order_id": attempt.midtrans_order_id,
        "payment_type": attempt.payment_type,
        "va_number": attempt.va_number,
        "bank": attempt.bank,
        "bill_key": attempt.bill_key,
        "biller_code": attempt.biller_code,
    }


def order_message_context(
    order: Order, *, template: str = "", attempt: PaymentAttempt | None = None
) -> dict[str, Any]:
    """What every customer template may use, as plain JSON values (frozen into the row). Links
    to pay go to the status page, which offers the live payment or a new one: a Snap URL in a
    message outlives its transaction. `payment` (how to pay the live attempt) is filled for
    templates sent while the order waits for payment (all of them without `template`): from
    `attempt` when the caller has it (the message is about that attempt), else the latest."""
    payment: dict[str, Any] = {}
    if not template or S.PENDING_PAYMENT in VALID_IN.get(template, ()):
        payment = _payment_context(attempt or order.attempts.order_by("-sequence").first())
    receipt: dict[str, str] = {}
    if template == Template.PAYMENT_SUCCESS_ACCESS:
        receipt = {
            "invoice_number": order_invoice_number(order=order),
            "receipt_pdf_url": order_receipt_pdf_url(order),
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
        "new_order_url": _site_url(
            reverse("orders:checkout", kwargs={"package_code": order.package_code})
        ),
        "login_page_url": _site_url(reverse("courses:login")),
        "support_whatsapp_url": settings.SUPPORT_WHATSAPP_URL,
        "payment": payment,
    } | receipt


def order_recipient(order: Order, channel: str) -> str:
    return order.customer_email if channel == Channel.EMAIL else order.customer_phone


def outbox_enqueue_for_order(
    *,
    order: Order,
    template: str,
    extra_context: dict[str, Any] | None = None,
    channels: Iterable[str] = CUSTOMER_CHANNELS,
    channel_context: dict[str, dict[str, Any]] | None = None,
    dedupe_key: str = "",
    attempt: PaymentAttempt | None = None,
    assume_new: bool = False,
) -> list[NotificationOutbox]:
    """Queue one automatic message per channel for an order, with the template's relevance
    rule. A message that already exists for (order, channel, template) — or, with
    `dedupe_key`, for that key and channel (one message per payment attempt) — is left alone,
    so calling this twice sends nothing twice. Must run inside the caller's transaction.
    `channel_context` adds values for one channel only (each channel's own login link);
    `attempt`: the payment attempt the message is about (see `order_message_context`);
    `assume_new`: see `notifications.services.outbox_enqueue`."""
    return outbox.outbox_enqueue(
        template=template,
        recipients={channel: order_recipient(order, channel) for channel in channels},
        context=order_message_context(order, template=template, attempt=attempt)
        | (extra_context or {}),
        channel_context=channel_context,
        order=order,
        valid_order_statuses=VALID_IN.get(template, ()),
        dedupe_key=dedupe_key,
        assume_new=assume_new,
    )


def attempt_message_enqueue(
    *,
    order: Order,
    attempt: PaymentAttempt,
    template: str,
    extra_context: dict[str, Any],
    assume_new: bool = False,
) -> list[NotificationOutbox]:
    """Queue a per-attempt message (`payment_attempt_failed`, `payment_details`): exactly one
    per attempt and channel however often Midtrans repeats itself, and none unless the order is
    still waiting for payment (a PAID order is never told its payment failed). `assume_new`:
    the caller (holding the order lock) knows this attempt never had the message (see
    `notifications.services.outbox_enqueue`)."""
    if order.status != S.PENDING_PAYMENT:
        return []
    return outbox_enqueue_for_order(
        order=order,
        template=template,
        extra_context=extra_context,
        dedupe_key=f"{template}:{attempt.midtrans_order_id}",
        attempt=attempt,
        assume_new=assume_new,
    )


def template_unavailable_reason(*, template: str, order: Order) -> str:
    """Why `template` cannot be sent for `order` now (empty when it can), for support."""
    valid_in = VALID_IN.get(template)
    if valid_in is None or order.status in valid_in:
        return ""
    wanted = ", ".join(S(status).label for status in sorted(valid_in))
    return f"hanya relevan saat order {wanted}; order ini sekarang {order.get_status_display()}"


def order_message_resend(
    *, original_id: int, actor: str, channel: str | None = None, ip_address: str | None = None
) -> NotificationOutbox:
    """Support's resend of one message about an order: refused (`outbox.ResendNotAllowed`, with
    the reason) when the template is not valid for the order's status now; sent to the order's
    current address for the channel; a success message gets a fresh one-time login link,
    because the original one may be used or expired. Messages without an order (ops alerts,
    login links) are resent as they were. See `notifications.services.outbox_resend`."""
    original = NotificationOutbox.objects.select_related("order__package__course").get(
        pk=original_id
    )
    order = original.order
    if order is None or original.template_name == Template.OPS_ALERT:
        return outbox.outbox_resend(
            original=original, actor=actor, channel=channel, ip_address=ip_address
        )
    if reason := template_unavailable_reason(template=original.template_name, order=order):
        raise outbox.ResendNotAllowed(f"{original.get_template_name_display()} {reason}.")
    channel = channel or original.channel
    if channel not in Channel.values:
        raise outbox.ResendNotAllowed(f"Kanal tidak dikenal: {channel}")
    context_update: dict[str, Any] = {}
    if original.template_name == Template.PAYMENT_SUCCESS_ACCESS:
        context_update = access_message_context(order=order, channel=channel)
    return outbox.outbox_resend(
        original=original,
        actor=actor,
        channel=channel,
        ip_address=ip_address,
        recipient=order_recipient(order, channel),
        context_update=context_update,
    )
