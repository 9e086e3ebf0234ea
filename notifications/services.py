"""Outbox writes and delivery.

Rows are created inside the caller's transaction (the state change that causes them) and handed
to a worker only after that transaction commits. Delivery is at-least-once:

1. **Claim** (short transaction): due rows (PENDING/RETRYING whose `next_attempt_at` has come,
   or SENDING whose lease `locked_until` has expired) are locked with
   `select_for_update(skip_locked=True)` and marked SENDING with a lease, `locked_by` and
   `attempt_count + 1`.
2. **Send** outside any transaction, with timeouts, from the row's stored context.
3. **Fenced write-back**: one `UPDATE … WHERE pk AND status=SENDING AND locked_by=me AND
   attempt_count=my attempt`. A worker whose lease was taken over writes nothing.

Duplicate window: a worker that dies (or stalls past the lease) after the provider accepted a
message but before its write-back leaves the row SENDING; after `OUTBOX_LEASE_SECONDS` another
worker claims it and sends it again. Everything else is exactly-once per row.
"""

import logging
import os
import random
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from buatfilm.formatting import mask_email, mask_phone, rupiah, wib
from buatfilm.logging import correlate
from notifications.errors import DeliveryError
from notifications.mailer import send_email
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.rendering import UnknownTemplate, render_message
from notifications.whatsapp import WhatsAppClient
from orders.models import Order

logger = logging.getLogger(__name__)

CUSTOMER_CHANNELS = (Channel.EMAIL, Channel.WHATSAPP)


# --- Creating rows -------------------------------------------------------------------------


def _site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def order_status_url(order: Order) -> str:
    path = reverse("orders:status", kwargs={"order_id": order.order_id})
    return f"{settings.SITE_URL}{path}?key={order.access_key}"


def order_message_context(order: Order) -> dict[str, Any]:
    """What every customer template may use, as plain JSON values (frozen into the row)."""
    attempt = order.attempts.order_by("-sequence").first()
    payment: dict[str, Any] = {}
    if attempt is not None and attempt.status == "PENDING":
        # Only a live attempt's number and link: a failed/expired one is dead (the status
        # page offers a retry instead). "PENDING" = payments.models.AttemptStatus.PENDING.
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
        "new_order_url": _site_url(
            reverse("orders:checkout", kwargs={"package_code": order.package_code})
        ),
        "login_page_url": _site_url(reverse("courses:login")),
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
    channel_context: dict[str, dict[str, Any]] | None = None,
) -> list[NotificationOutbox]:
    """Queue one automatic message per channel for an order. A message that already exists for
    (order, channel, template) is left alone (the unique constraint decides, not a SELECT), so
    calling this twice sends nothing twice. Must run inside the caller's transaction.
    `channel_context` adds values for one channel only (each channel's own login link)."""
    base_context = order_message_context(order) | (extra_context or {})
    created = []
    for channel in channels:
        context = base_context | (channel_context or {}).get(channel, {})
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


def _admin_change_url(model: str, pk: object) -> str:
    try:
        return _site_url(reverse(f"admin:{model}_change", args=[pk]))
    except NoReverseMatch:  # the admin registration belongs to supportdesk; may not exist yet
        return ""


def ops_alert_enqueue(
    *, dedupe_key: str, subject: str, message: str, order: Order | None = None
) -> NotificationOutbox | None:
    """Queue one email to OPS_EMAIL; the same `dedupe_key` never alerts twice (returns None).
    One order may raise any number of different alerts."""
    context = {
        "subject": subject,
        "message": message,
        "order_id": order.order_id if order else "",
        "admin_url": _admin_change_url("orders_order", order.pk) if order else "",
    }
    try:
        with transaction.atomic():
            row = NotificationOutbox.objects.create(
                order=order,
                channel=Channel.EMAIL,
                template_name=Template.OPS_ALERT,
                recipient=settings.OPS_EMAIL,
                context=context,
                dedupe_key=dedupe_key[:200],
                max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
            )
    except IntegrityError:
        return None
    logger.warning("event=ops_alert_queued outbox_id=%s subject=%s", row.pk, subject)
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


class ResendNotAllowed(ValueError):
    """The resend was refused; nothing was written. The message says why (for the admin)."""


@transaction.atomic
def outbox_resend(
    *,
    original_id: int,
    actor: str,
    channel: str | None = None,
    ip_address: str | None = None,
) -> NotificationOutbox:
    """Queue a manual copy of an outbox message (support's "resend").

    Guarantees: a new PENDING row with `resend_of=original`, the same template and the original's
    stored context (so the customer gets the same words), sent to the order's current address for
    the chosen channel (default: the original's channel); a success message gets a fresh one-time
    login link, because the original one may be used or expired. The automatic row and its
    unique key are untouched. One `notification_resend` audit row names the actor. The new row is
    dispatched after commit.

    Raises `NotificationOutbox.DoesNotExist`, or `ResendNotAllowed` for an unknown channel or an
    ops alert sent to another channel."""
    from courses.services import access_message_context
    from supportdesk.audit import audit_record

    original = NotificationOutbox.objects.select_related("order__package__course").get(
        pk=original_id
    )
    channel = channel or original.channel
    if channel not in Channel.values:
        raise ResendNotAllowed(f"Kanal tidak dikenal: {channel}")
    context = dict(original.context)
    order = original.order
    if original.template_name == Template.OPS_ALERT:
        if channel != Channel.EMAIL:
            raise ResendNotAllowed("Peringatan ops hanya dikirim lewat email.")
        recipient = settings.OPS_EMAIL
    elif order is not None:
        recipient = _recipient(order, channel)
        if original.template_name == Template.PAYMENT_SUCCESS_ACCESS:
            context |= access_message_context(order=order, channel=channel)
    elif channel == original.channel:
        recipient = original.recipient
    else:
        raise ResendNotAllowed("Pesan tanpa pesanan hanya bisa dikirim ulang ke kanal yang sama.")

    row = NotificationOutbox.objects.create(
        order=order,
        channel=channel,
        template_name=original.template_name,
        recipient=recipient,
        context=context,
        resend_of=original,
        requested_by=actor[:150],
        max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
    )
    order_id = order.order_id if order else str(context.get("order_id", ""))
    audit_record(
        actor=actor,
        action="notification_resend",
        entity_type="notification",
        entity_id=str(row.pk),
        old_value={
            "resend_of": original.pk,
            "status": original.status,
            "channel": original.channel,
        },
        new_value={"template": row.template_name, "channel": row.channel, "outbox_id": row.pk},
        correlation_id=order_id,
        ip_address=ip_address,
    )
    with correlate(order_id or "-"):
        logger.info(
            "event=outbox_resend_queued outbox_id=%s resend_of=%s channel=%s by=%s",
            row.pk,
            original.pk,
            channel,
            actor,
        )
    outbox_dispatch_on_commit([row.pk])
    return row


# --- Delivery ------------------------------------------------------------------------------


class Outcome:
    SENT = "sent"
    RETRYING = "retrying"
    DLQ = "dlq"
    SKIPPED = "skipped"  # not due, already done, or another worker has it
    LOST = "lost"  # our lease was taken over: nothing written


@dataclass(frozen=True)
class SendResult:
    """What one send attempt produced: a provider message id, or the error."""

    provider_message_id: str = ""
    error: DeliveryError | None = None


def default_worker_id() -> str:
    """Unique per call: host, process and a random part (two claims never share an identity)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def _due(now: datetime) -> Q:
    waiting = Q(status__in=[OutboxStatus.PENDING, OutboxStatus.RETRYING]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    lease_expired = Q(status=OutboxStatus.SENDING, locked_until__lte=now)
    return waiting | lease_expired


def _claim(
    *, limit: int, worker_id: str, now: datetime, outbox_id: int | None = None
) -> list[NotificationOutbox]:
    """Lease up to `limit` due rows to `worker_id`; returns them as claimed (the snapshot the
    fenced write-back compares against)."""
    due = _due(now)
    lease = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    claim_values = {
        "status": OutboxStatus.SENDING,
        "locked_until": lease,
        "locked_by": worker_id,
        "attempt_count": F("attempt_count") + 1,
        "updated_at": now,
    }
    candidates = NotificationOutbox.objects.filter(due)
    if outbox_id is not None:
        candidates = candidates.filter(pk=outbox_id)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            # Locked rows are being claimed by someone else right now: skip, don't wait.
            ids = list(
                candidates.select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:limit]
            )
            NotificationOutbox.objects.filter(pk__in=ids).update(**claim_values)
        else:
            # SQLite has no SKIP LOCKED (it serialises writers): claim row by row with a
            # conditional UPDATE, so a row taken meanwhile is simply not ours.
            ids = [
                pk
                for pk in candidates.order_by("pk").values_list("pk", flat=True)[:limit]
                if NotificationOutbox.objects.filter(due, pk=pk).update(**claim_values)
            ]
        return list(NotificationOutbox.objects.filter(pk__in=ids).order_by("pk"))


def outbox_claim_due(*, limit: int, worker_id: str, now: datetime | None = None) -> list[int]:
    """Lease up to `limit` due rows to `worker_id` and return their ids.

    Due = PENDING/RETRYING with `next_attempt_at` empty or past, or SENDING with an expired
    lease. Each claimed row becomes SENDING with `locked_until = now + OUTBOX_LEASE_SECONDS`,
    `locked_by = worker_id` and `attempt_count + 1`. Two concurrent callers never get the same
    row (PostgreSQL: SKIP LOCKED; SQLite: conditional per-row update)."""
    rows = _claim(limit=limit, worker_id=worker_id, now=now or timezone.now())
    return [row.pk for row in rows]


def outbox_retry_delay(*, attempt: int) -> timedelta:
    """Exponential backoff with full jitter: uniform(0, min(max, base * 2**(attempt-1))),
    at least one second."""
    ceiling = min(
        settings.OUTBOX_BACKOFF_MAX_SECONDS,
        settings.OUTBOX_BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0),
    )
    return timedelta(seconds=max(1.0, random.uniform(0, ceiling)))  # noqa: S311 (jitter)


def _masked(recipient: str, channel: str) -> str:
    return mask_email(recipient) if channel == Channel.EMAIL else mask_phone(recipient)


def _scrub(text: str, recipient: str, channel: str) -> str:
    """Provider errors may quote the address: keep only its masked form."""
    masked = _masked(recipient, channel)
    for form in {recipient, recipient.removeprefix("+")}:
        if form:
            text = text.replace(form, masked)
    return text[:500]


def _send(row: NotificationOutbox) -> SendResult:
    """Render from the stored context and hand to the channel's provider. Never raises."""
    try:
        rendered = render_message(
            template_name=row.template_name, channel=row.channel, context=row.context
        )
        if row.channel == Channel.EMAIL:
            provider_id = send_email(
                to=[address.strip() for address in row.recipient.split(",") if address.strip()],
                rendered=rendered,
                headers={"X-BuatFilm-Outbox-Id": str(row.pk)},
                tags=[row.template_name],
                metadata={"outbox_id": str(row.pk), "order_id": row.order_id or ""},
            )
        else:
            provider_id = WhatsAppClient().send_text(phone=row.recipient, text=rendered.text)
    except DeliveryError as exc:
        return SendResult(error=exc)
    except UnknownTemplate as exc:
        return SendResult(error=DeliveryError(str(exc), permanent=True))
    except Exception as exc:  # a bug or an unexpected library error: retry, record it
        logger.exception("unexpected error sending outbox %s", row.pk)
        return SendResult(error=DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False))
    return SendResult(provider_message_id=provider_id[:255])


def _fence(claimed: NotificationOutbox) -> Any:
    # Every claim increments attempt_count, so (pk, attempt_count) already names one lease;
    # locked_by is kept in the condition as a second, human-readable guard.
    return NotificationOutbox.objects.filter(
        pk=claimed.pk,
        status=OutboxStatus.SENDING,
        locked_by=claimed.locked_by,
        attempt_count=claimed.attempt_count,
    )


def _log_fields(row: NotificationOutbox) -> str:
    return (
        f"outbox_id={row.pk} template={row.template_name} channel={row.channel} "
        f"to={_masked(row.recipient, row.channel)} attempt={row.attempt_count}/{row.max_attempts}"
    )


def outbox_write_back(
    *, claimed: NotificationOutbox, result: SendResult, now: datetime | None = None
) -> str:
    """Record one send attempt on a row this worker claimed (`claimed` = the row as claimed).

    Fenced: writes only if the row is still SENDING, `locked_by` this worker and at the claimed
    `attempt_count`; otherwise returns `Outcome.LOST` and changes nothing. Success → SENT with the
    provider id and `sent_at`. Failure → `error_history` gains {at, attempt, error}; then DLQ
    (permanent error, or `max_attempts` reached; an ops alert is queued in the same
    transaction, except for ops alerts themselves) or RETRYING at `now + outbox_retry_delay`."""
    now = now or timezone.now()
    release = {"locked_until": None, "locked_by": "", "updated_at": now}
    if result.error is None:
        updated = _fence(claimed).update(
            status=OutboxStatus.SENT,
            provider_message_id=result.provider_message_id,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
            **release,
        )
        return Outcome.SENT if updated else Outcome.LOST

    error_text = _scrub(str(result.error), claimed.recipient, claimed.channel)
    history = [
        *claimed.error_history,
        {"at": now.isoformat(), "attempt": claimed.attempt_count, "error": error_text},
    ]
    to_dlq = result.error.permanent or claimed.attempt_count >= claimed.max_attempts
    if not to_dlq:
        updated = _fence(claimed).update(
            status=OutboxStatus.RETRYING,
            next_attempt_at=now + outbox_retry_delay(attempt=claimed.attempt_count),
            last_error=error_text,
            error_history=history,
            **release,
        )
        return Outcome.RETRYING if updated else Outcome.LOST

    with transaction.atomic():
        updated = _fence(claimed).update(
            status=OutboxStatus.DLQ,
            next_attempt_at=None,
            last_error=error_text,
            error_history=history,
            **release,
        )
        if not updated:
            return Outcome.LOST
        if claimed.template_name != Template.OPS_ALERT:  # an alert about an alert would loop
            _ops_alert_for_dlq(
                claimed=claimed, error_text=error_text, permanent=result.error.permanent
            )
    return Outcome.DLQ


def _ops_alert_for_dlq(*, claimed: NotificationOutbox, error_text: str, permanent: bool) -> None:
    reason = "ditolak permanen" if permanent else f"gagal {claimed.attempt_count}x"
    order_id = claimed.order_id or str(claimed.context.get("order_id", ""))
    ops_alert_enqueue(
        dedupe_key=f"outbox_dlq:{claimed.pk}",
        subject=(
            f"Notifikasi masuk DLQ: {claimed.template_name}/{claimed.channel}"
            + (f" untuk {order_id}" if order_id else "")
        ),
        message=(
            f"Pesan outbox #{claimed.pk} ({claimed.template_name} lewat {claimed.channel} ke "
            f"{_masked(claimed.recipient, claimed.channel)}) {reason} dan tidak akan dicoba lagi "
            f"otomatis.\nError terakhir: {error_text}\n\nPeriksa alamat/nomor dan konfigurasi "
            "provider, lalu kirim ulang dari admin (Resend notification)."
        ),
        order=claimed.order,
    )


def outbox_send_claimed(*, claimed: NotificationOutbox, now: datetime | None = None) -> str:
    """Send a row this worker claimed and write the result back (fenced). If the lease was
    already taken over, nothing is sent (`Outcome.LOST`). Returns an `Outcome` value."""
    order_id = claimed.order_id or str(claimed.context.get("order_id", "")) or "-"
    with correlate(order_id):
        if not _fence(claimed).exists():
            logger.warning("event=outbox_lease_lost before send %s", _log_fields(claimed))
            return Outcome.LOST
        result = _send(claimed)
        outcome = outbox_write_back(claimed=claimed, result=result, now=now)
        fields = _log_fields(claimed)
        error = _scrub(str(result.error), claimed.recipient, claimed.channel)
        if outcome == Outcome.SENT:
            logger.info("event=outbox_sent %s provider_id=%s", fields, result.provider_message_id)
        elif outcome == Outcome.RETRYING:
            logger.warning("event=outbox_failed %s will_retry=yes error=%s", fields, error)
        elif outcome == Outcome.DLQ:
            # An ops alert that cannot be delivered has nobody else to tell: shout in the log.
            is_alert = claimed.template_name == Template.OPS_ALERT
            logger.log(
                logging.CRITICAL if is_alert else logging.ERROR,
                "event=outbox_dlq %s error=%s",
                fields,
                error,
            )
        else:
            logger.warning(
                "event=outbox_lease_lost after send (possible duplicate) %s result=%s",
                fields,
                "accepted" if result.error is None else "error",
            )
    return outcome


def outbox_deliver(
    *, outbox_id: int, worker_id: str | None = None, now: datetime | None = None
) -> str:
    """Deliver one row if it is due (the per-row Celery task). A row that is not due (already
    SENT, in DLQ, waiting for its retry time, or leased to a live worker) is left alone:
    `Outcome.SKIPPED`. Returns an `Outcome` value; never raises for provider errors."""
    claimed = _claim(
        limit=1,
        worker_id=worker_id or default_worker_id(),
        now=now or timezone.now(),
        outbox_id=outbox_id,
    )
    if not claimed:
        logger.info("event=outbox_skipped outbox_id=%s (not due or taken)", outbox_id)
        return Outcome.SKIPPED
    return outbox_send_claimed(claimed=claimed[0], now=now)


def outbox_dispatch_due(
    *, limit: int = 1000, worker_id: str | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Drain due rows (the Beat sweep and `manage.py dispatch_outbox`): claim a small batch
    (OUTBOX_CLAIM_BATCH), send each, repeat until nothing is due or `limit` rows were handled.
    Safe to run on several workers at once. Returns counts per outcome."""
    worker_id = worker_id or default_worker_id()
    counts = {Outcome.SENT: 0, Outcome.RETRYING: 0, Outcome.DLQ: 0, Outcome.LOST: 0}
    handled = 0
    while handled < limit:
        batch = _claim(
            limit=min(settings.OUTBOX_CLAIM_BATCH, limit - handled),
            worker_id=worker_id,
            now=now or timezone.now(),
        )
        if not batch:
            break
        for claimed in batch:
            outcome = outbox_send_claimed(claimed=claimed, now=now)
            counts[outcome] = counts.get(outcome, 0) + 1
        handled += len(batch)
    logger.info(
        "event=outbox_dispatch_run sent=%s retrying=%s dlq=%s lost=%s",
        counts[Outcome.SENT],
        counts[Outcome.RETRYING],
        counts[Outcome.DLQ],
        counts[Outcome.LOST],
    )
    return counts
