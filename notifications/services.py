"""Outbox writes and delivery.

Rows are created inside the caller's transaction (the state change that causes them) and handed
to a worker only after that transaction commits. Delivery is at-least-once:

1. **Claim** (short transaction): due rows (PENDING/RETRYING whose `next_attempt_at` has come,
   or SENDING whose lease `locked_until` has expired) are locked with
   `select_for_update(skip_locked=True)` and marked SENDING with a lease, `locked_by` and
   `attempt_count + 1` (a claim is an attempt). A leased row whose lease expired with its
   attempts used up goes to the DLQ with an ops alert instead (a message that kills its worker
   cannot loop forever).
2. **Send** outside any transaction, with timeouts, from the row's stored context — unless the
   relevance rule fails: a row whose order is no longer in `valid_order_statuses` becomes
   CANCELLED and is never sent.
3. **Fenced write-back**: one `UPDATE … WHERE pk AND status=SENDING AND locked_by=me AND
   attempt_count=my attempt`. A worker whose lease was taken over writes nothing.

Duplicate window: a worker that dies (or stalls past the lease) after the provider accepted a
message but before its write-back leaves the row SENDING; after `OUTBOX_LEASE_SECONDS` another
worker claims it and sends it again. Everything else is exactly-once per row.
"""

import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from math import inf
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from buatfilm.after_response import after_response
from buatfilm.db import UpdateTemplate
from buatfilm.formatting import mask_email, mask_phone
from buatfilm.logging import correlate
from notifications.errors import DeliveryError
from notifications.mailer import send_email
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.rendering import UnknownTemplate, render_message
from notifications.whatsapp import WhatsAppClient
from orders.models import Order
from supportdesk.audit import audit_record

logger = logging.getLogger(__name__)

# --- Creating rows -------------------------------------------------------------------------
#
# The outbox knows no domain: callers hand it the recipient, the template, the context the
# template renders (frozen into the row) and the relevance rule (the order statuses the message
# is valid in). Messages about orders are built in `orders.messages`.


def _site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def outbox_enqueue(
    *,
    template: str,
    recipients: Mapping[str, str],
    context: dict[str, Any],
    order: Order | None = None,
    valid_order_statuses: Iterable[str] = (),
    channel_context: Mapping[str, dict[str, Any]] | None = None,
    status: str = OutboxStatus.PENDING,
    last_error: str = "",
    dedupe_key: str = "",
    assume_new: bool = False,
) -> list[NotificationOutbox]:
    """Queue one message per (channel, recipient). For an order, a message that already exists
    for (order, channel, template) — or, with `dedupe_key`, for that key and channel — is left
    alone, so calling this twice sends nothing twice. `valid_order_statuses`: the row is
    CANCELLED, not sent, if the order is in none of them when a worker claims it. A row created
    CANCELLED (with `last_error` saying why) is recorded and never sent. `channel_context` adds
    values for one channel only (e.g. each channel's own login link).

    Must run inside the caller's transaction, and for an order under that order's row lock
    (every writer of order messages holds it: transitions, the reminder job, the notification
    pipeline), so one SELECT of the keys already taken is authoritative and the new rows go in
    one INSERT without a savepoint. The unique constraints stay the backstop: a writer that
    broke the rule gets an IntegrityError and its transaction rolls back. `assume_new`: the
    caller knows no such row can exist (it queues the message of a state entered once, under
    the lock), so not even that SELECT runs. New rows are handed to a worker after commit."""
    rows = [
        NotificationOutbox(
            order=order,
            channel=channel,
            template_name=template,
            recipient=recipient,
            context=context | (channel_context or {}).get(channel, {}),
            valid_order_statuses=sorted(valid_order_statuses),
            status=status,
            last_error=last_error,
            # Messages that may come more than once per order (one per payment attempt) are
            # deduplicated by their own key instead of (order, channel, template).
            dedupe_key=f"{dedupe_key}:{channel}"[:200] if dedupe_key else None,
            max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
        )
        for channel, recipient in recipients.items()
    ]
    if not assume_new:
        taken = _queued_channels(order=order, template=template, rows=rows)
        rows = [row for row in rows if row.channel not in taken]
    skipped = set(recipients) - {row.channel for row in rows}
    if skipped:
        logger.info("outbox row exists: %s/%s", template, ",".join(sorted(skipped)))
    created = NotificationOutbox.objects.bulk_create(rows) if rows else []
    outbox_dispatch_on_commit([row.pk for row in created])
    return created


def _queued_channels(
    *, order: Order | None, template: str, rows: list[NotificationOutbox]
) -> set[str]:
    """The channels of `rows` already queued: by dedupe key when the rows have one, else by
    (order, channel, template) for an automatic order message; none for anything else."""
    channels = [row.channel for row in rows]
    keys = [row.dedupe_key for row in rows if row.dedupe_key]
    if keys:
        taken = NotificationOutbox.objects.filter(dedupe_key__in=keys)
    elif order is not None:
        taken = NotificationOutbox.objects.filter(
            order=order, template_name=template, resend_of=None, dedupe_key=None
        )
    else:
        return set()
    return set(taken.filter(channel__in=channels).values_list("channel", flat=True))


def _admin_change_url(model: str, pk: object) -> str:
    try:
        return _site_url(reverse(f"admin:{model}_change", args=[pk]))
    except NoReverseMatch:  # the admin registration belongs to supportdesk; may not exist yet
        return ""


def ops_alert_enqueue(
    *, dedupe_key: str, subject: str, message: str, order: Order | None = None
) -> NotificationOutbox | None:
    """Queue one email to OPS_EMAIL and, when `OPS_WHATSAPP` is set, the same alert as a
    WhatsApp message to that number (its own row, key `<dedupe_key>:wa`, so each channel is
    delivered and retried on its own). The same `dedupe_key` never alerts twice (returns None).
    One order may raise any number of different alerts. Returns the email row."""
    context = {
        "subject": subject,
        "message": message,
        "order_id": order.order_id if order else "",
        "admin_url": _admin_change_url("orders_order", order.pk) if order else "",
    }
    targets = [(Channel.EMAIL, settings.OPS_EMAIL, dedupe_key[:200])]
    if settings.OPS_WHATSAPP:
        targets.append((Channel.WHATSAPP, settings.OPS_WHATSAPP, f"{dedupe_key[:197]}:wa"))
    rows: list[NotificationOutbox] = []
    try:
        with transaction.atomic():
            for channel, recipient, key in targets:
                rows.append(
                    NotificationOutbox.objects.create(
                        order=order,
                        channel=channel,
                        template_name=Template.OPS_ALERT,
                        recipient=recipient,
                        context=context,
                        dedupe_key=key,
                        max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
                    )
                )
    except IntegrityError:
        return None
    for row in rows:
        logger.warning(
            "event=ops_alert_queued outbox_id=%s channel=%s subject=%s",
            row.pk,
            row.channel,
            subject,
        )
    outbox_dispatch_on_commit([row.pk for row in rows])
    return rows[0]


def outbox_dispatch_on_commit(outbox_ids: list[int]) -> None:
    """After commit, hand each row to a worker: in a request, once its response is sent
    (`after_response`: the client never waits for the broker). If the broker is down the rows
    stay PENDING and the periodic sweep delivers them: losing a task message loses nothing."""
    if not outbox_ids:
        return

    def dispatch() -> None:
        from notifications.tasks import deliver_outbox_messages

        try:
            deliver_outbox_messages.delay(outbox_ids)
        except Exception:
            logger.exception("could not enqueue outbox %s; the sweep will", outbox_ids)

    transaction.on_commit(partial(after_response, dispatch))


class ResendNotAllowed(ValueError):
    """The resend was refused; nothing was written. The message says why (for the admin)."""


@transaction.atomic
def outbox_resend(
    *,
    original: NotificationOutbox,
    actor: str,
    channel: str | None = None,
    ip_address: str | None = None,
    recipient: str | None = None,
    context_update: dict[str, Any] | None = None,
) -> NotificationOutbox:
    """Queue a manual copy of an outbox message (support's "resend").

    Guarantees: a new PENDING row with `resend_of=original`, the same template, relevance rule
    and the original's stored context (plus `context_update`, e.g. a fresh login link), sent to
    `recipient` on `channel` (defaults: the original's channel; the original's recipient on the
    same channel, `OPS_EMAIL` for an ops alert). The automatic row and its unique key are
    untouched. One `notification_resend` audit row names the actor. The new row is dispatched
    after commit. Messages about an order go through `orders.messages.order_message_resend`,
    which knows the order's current address and which templates are valid now.

    Raises `ResendNotAllowed` for an unknown channel, an ops alert sent to another channel or
    another channel without a recipient."""
    channel = channel or original.channel
    if channel not in Channel.values:
        raise ResendNotAllowed(f"Kanal tidak dikenal: {channel}")
    context = dict(original.context) | (context_update or {})
    order = original.order
    if original.template_name == Template.OPS_ALERT:
        if channel == Channel.WHATSAPP and settings.OPS_WHATSAPP:
            recipient = settings.OPS_WHATSAPP
        elif channel == Channel.EMAIL:
            recipient = settings.OPS_EMAIL
        else:
            raise ResendNotAllowed(
                "Peringatan ops hanya dikirim lewat email (OPS_WHATSAPP kosong)."
            )
    elif recipient is None:
        if channel != original.channel:
            raise ResendNotAllowed("Pesan ini hanya bisa dikirim ulang ke kanal yang sama.")
        recipient = original.recipient

    row = NotificationOutbox.objects.create(
        order=order,
        channel=channel,
        template_name=original.template_name,
        recipient=recipient,
        context=context,
        valid_order_statuses=original.valid_order_statuses,
        resend_of=original,
        requested_by=actor[:150],
        max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
    )
    order_id = original.order_id or str(context.get("order_id", ""))
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
    CANCELLED = "cancelled"  # no longer relevant (its order moved on): never sent


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
    claimable = Q(status__in=[OutboxStatus.PENDING, OutboxStatus.RETRYING, OutboxStatus.SENDING])
    return claimable & (waiting | lease_expired)  # `claimable`: the outbox_claimable index


# The claim reads each row's order status with it; a row sent within this many seconds of its
# claim is judged on that read (its lease cannot have expired yet: the lease outlasts a whole
# batch, see OUTBOX_CLAIM_BATCH). A row sent later (a slow batch) is read again before sending.
CLAIM_FRESH_SECONDS = 1.0
_ORDER_STATUS = F("order__status")

# A leased row whose lease expired with every attempt used: each of its workers died (or
# stalled) before writing a result back. It goes to the DLQ instead of being claimed again, so
# a message that kills its worker cannot loop forever.
_EXHAUSTED = Q(status=OutboxStatus.SENDING, attempt_count__gte=F("max_attempts"))


def _claim(
    *,
    limit: int,
    worker_id: str,
    now: datetime,
    outbox_ids: Sequence[int] | None = None,
    read: int | None = None,
) -> Sequence[NotificationOutbox]:
    """Lease up to `limit` due rows to `worker_id`; returns them as claimed (the snapshot the
    fenced write-back compares against), followed by the due rows it cancelled instead (their
    order left the statuses they are valid in: CANCELLED without ever being leased). Due rows
    whose attempts are used up go to the DLQ.

    `read` (PostgreSQL, at least `limit`): how many due rows to look at, so a claim after one
    that met cancelled rows can still lease `limit` to send; rows read and not leased stay as
    they were."""
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
    if outbox_ids is not None:
        candidates = candidates.filter(pk__in=outbox_ids)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            # Locked rows are being claimed by someone else right now: skip, don't wait. The
            # rows are read whole under the lock, so the claimed snapshot is built here rather
            # than read again after the UPDATE.
            locked = list(
                candidates.select_for_update(skip_locked=True, of=("self",))
                .annotate(claimed_order_status=_ORDER_STATUS)
                .order_by("pk")[: max(limit, read or 0)]
            )
            exhausted = [
                row.pk
                for row in locked
                if row.status == OutboxStatus.SENDING and row.attempt_count >= row.max_attempts
            ]
            relevant, irrelevant = _by_relevance(row for row in locked if row.pk not in exhausted)
            claimed = relevant[:limit]
            if claimed:
                NotificationOutbox.objects.filter(pk__in=[row.pk for row in claimed]).update(
                    **claim_values
                )
            for row in claimed:
                row.status = OutboxStatus.SENDING
                row.locked_until = lease
                row.locked_by = worker_id
                row.attempt_count += 1
                row.updated_at = now
        else:
            # SQLite has no SKIP LOCKED (it serialises writers): claim row by row with a
            # conditional UPDATE, so a row taken meanwhile is simply not ours.
            pks = list(candidates.order_by("pk").values_list("pk", flat=True)[:limit])
            exhausted = list(
                NotificationOutbox.objects.filter(due, _EXHAUSTED, pk__in=pks).values_list(
                    "pk", flat=True
                )
            )
            ids = [
                pk
                for pk in pks
                if pk not in exhausted
                and NotificationOutbox.objects.filter(due, pk=pk).update(**claim_values)
            ]
            claimed = list(
                NotificationOutbox.objects.filter(pk__in=ids)
                .annotate(claimed_order_status=_ORDER_STATUS)
                .order_by("pk")
            )
            claimed, irrelevant = _by_relevance(claimed)
        if exhausted:
            _dead_workers_to_dlq(exhausted, now=now)
        _cancel_irrelevant(irrelevant, now=now)
    claimed_at = time.monotonic()
    for row in claimed:
        row.claimed_at = claimed_at
    return [*claimed, *(row for rows in irrelevant.values() for row in rows)]


_ByReason = dict[str, list[NotificationOutbox]]


def _by_relevance(rows: Iterable[NotificationOutbox]) -> tuple[list[NotificationOutbox], _ByReason]:
    """Claimed rows split into those that may be sent and, by the reason they must not, those
    to cancel (judged on the order status the claim read with them)."""
    relevant: list[NotificationOutbox] = []
    irrelevant: _ByReason = {}
    for row in rows:
        if reason := _irrelevance(row, row.claimed_order_status):  # type: ignore[attr-defined]
            irrelevant.setdefault(reason, []).append(row)
        else:
            relevant.append(row)
    return relevant, irrelevant


def _irrelevance(row: NotificationOutbox, order_status: str | None) -> str:
    """Why the row must not be sent with its order in `order_status` ("" = it may be sent)."""
    if row.valid_order_statuses and order_status not in row.valid_order_statuses:
        return f"Tidak dikirim: order sudah {order_status}, pesan ini tidak relevan lagi"
    return ""


def _cancel_irrelevant(by_reason: _ByReason, *, now: datetime) -> None:
    """In the claim's transaction: due rows whose order has left the statuses they are valid
    in become CANCELLED at once, never leased (one UPDATE per reason, not one per row: after
    an outage most of a backlog can be instructions for orders paid meanwhile). The claim
    returns them, marked CANCELLED, so the caller counts them."""
    for reason, rows in by_reason.items():
        NotificationOutbox.objects.filter(pk__in=[row.pk for row in rows]).update(
            **_cancelled(reason, now)
        )
        for row in rows:
            row.status, row.last_error = OutboxStatus.CANCELLED, reason
            with correlate(row.order_id or "-"):
                _log_cancelled(row, reason)


def _dead_workers_to_dlq(outbox_ids: list[int], *, now: datetime) -> None:
    """Rows leased `max_attempts` times whose workers never wrote a result back: DLQ + alert.
    Runs in the claim's transaction, on rows it has locked."""
    for row in NotificationOutbox.objects.filter(pk__in=outbox_ids, status=OutboxStatus.SENDING):
        error_text = (
            f"{row.attempt_count} percobaan, tidak satu pun mencatat hasil (worker mati atau "
            f"macet lebih dari {settings.OUTBOX_LEASE_SECONDS} detik); pesan mungkin sudah "
            "terkirim sebagian"
        )
        history = [
            *row.error_history,
            {"at": now.isoformat(), "attempt": row.attempt_count, "error": error_text},
        ]
        NotificationOutbox.objects.filter(pk=row.pk, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.DLQ,
            next_attempt_at=None,
            locked_until=None,
            locked_by="",
            last_error=error_text,
            error_history=history,
            updated_at=now,
        )
        with correlate(row.order_id or str(row.context.get("order_id", "")) or "-"):
            logger.error("event=outbox_dlq reason=no_write_back %s", _log_fields(row))
        if row.template_name != Template.OPS_ALERT:
            _ops_alert_for_dlq(claimed=row, error_text=error_text, permanent=False)


def outbox_claim_due(*, limit: int, worker_id: str, now: datetime | None = None) -> list[int]:
    """Lease up to `limit` due rows to `worker_id` and return their ids.

    Due = PENDING/RETRYING with `next_attempt_at` empty or past, or SENDING with an expired
    lease. Each claimed row becomes SENDING with `locked_until = now + OUTBOX_LEASE_SECONDS`,
    `locked_by = worker_id` and `attempt_count + 1`; a row no longer relevant to its order
    becomes CANCELLED instead and is not returned. Two concurrent callers never get the same
    row (PostgreSQL: SKIP LOCKED; SQLite: conditional per-row update)."""
    rows = _claim(limit=limit, worker_id=worker_id, now=now or timezone.now())
    return [row.pk for row in rows if row.status == OutboxStatus.SENDING]


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


class NotRelevant(Exception):
    """Raised by a send-time context provider: this row must not be sent (the message says
    why); it becomes CANCELLED."""


SendTimeContext = Callable[[NotificationOutbox], dict[str, Any]]
_SEND_TIME_CONTEXT: dict[str, SendTimeContext] = {}


def register_send_time_context(template: str, provider: SendTimeContext) -> None:
    """Let the app that owns a template add values at send time that must not be stored in the
    row (a one-time login link: minted when the message goes out, never kept in the outbox).
    The provider gets the claimed row and returns extra context, or raises `NotRelevant`.
    Registered from the owning app's `ready()`: the outbox imports no other app."""
    _SEND_TIME_CONTEXT[template] = provider


def _send(row: NotificationOutbox, extra_context: dict[str, Any] | None = None) -> SendResult:
    """Render from the stored context and hand to the channel's provider. Never raises."""
    try:
        rendered = render_message(
            template_name=row.template_name,
            channel=row.channel,
            context=row.context | (extra_context or {}),
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


def _leased(*, pk: int, locked_by: str, attempt_count: int) -> Any:
    # Every claim increments attempt_count, so (pk, attempt_count) already names one lease;
    # locked_by is kept in the condition as a second, human-readable guard.
    return NotificationOutbox.objects.filter(
        pk=pk, status=OutboxStatus.SENDING, locked_by=locked_by, attempt_count=attempt_count
    )


def _fence(claimed: NotificationOutbox) -> Any:
    return _leased(pk=claimed.pk, locked_by=claimed.locked_by, attempt_count=claimed.attempt_count)


# The write-back of a sent message, the one statement every delivery ends with: compiled once
# per process (`UpdateTemplate`; Django's compiling of the fenced update cost about as much as
# PostgreSQL's running it).
_SENT = UpdateTemplate(
    lambda *, pk, locked_by, attempt_count, provider_message_id, now: (
        _leased(pk=pk, locked_by=locked_by, attempt_count=attempt_count),
        {
            "status": OutboxStatus.SENT,
            "provider_message_id": provider_message_id,
            "sent_at": now,
            "next_attempt_at": None,
            "last_error": "",
            "locked_until": None,
            "locked_by": "",
            "updated_at": now,
        },
    )
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
    if result.error is None:
        updated = _SENT.run(
            pk=claimed.pk,
            locked_by=claimed.locked_by,
            attempt_count=claimed.attempt_count,
            provider_message_id=result.provider_message_id,
            now=now,
        )
        return Outcome.SENT if updated else Outcome.LOST

    release = {"locked_until": None, "locked_by": "", "updated_at": now}
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


def _cancelled(reason: str, now: datetime) -> dict[str, Any]:
    """The columns of a row given up without sending (its lease released)."""
    return {
        "status": OutboxStatus.CANCELLED,
        "next_attempt_at": None,
        "locked_until": None,
        "locked_by": "",
        "last_error": reason,
        "updated_at": now,
    }


def _log_cancelled(row: NotificationOutbox, reason: str) -> None:
    logger.info("event=outbox_cancelled %s reason=%s", _log_fields(row), reason)


def _cancel(*, claimed: NotificationOutbox, reason: str, now: datetime | None) -> str:
    """The message's reason is gone (its order left the statuses it is valid in, or its
    recipient is not a customer): CANCELLED, never sent."""
    if not _fence(claimed).update(**_cancelled(reason, now or timezone.now())):
        return Outcome.LOST
    _log_cancelled(claimed, reason)
    return Outcome.CANCELLED


def outbox_send_claimed(*, claimed: NotificationOutbox, now: datetime | None = None) -> str:
    """Send a row this worker claimed and write the result back (fenced). If the lease was
    already taken over, nothing is sent (`Outcome.LOST`). Returns an `Outcome` value."""
    order_id = claimed.order_id or str(claimed.context.get("order_id", "")) or "-"
    with correlate(order_id):
        if claimed.status == OutboxStatus.CANCELLED:  # by the claim, see _cancel_irrelevant
            return Outcome.CANCELLED
        if time.monotonic() - getattr(claimed, "claimed_at", -inf) >= CLAIM_FRESH_SECONDS:
            # Not just claimed: one read checks our lease and the order's status now.
            still_ours = _fence(claimed).values_list("order__status", flat=True)[:1]
            if not still_ours:
                logger.warning("event=outbox_lease_lost before send %s", _log_fields(claimed))
                return Outcome.LOST
            if reason := _irrelevance(claimed, still_ours[0]):
                return _cancel(claimed=claimed, reason=reason, now=now)
        extra_context: dict[str, Any] = {}
        result: SendResult | None = None
        if provider := _SEND_TIME_CONTEXT.get(claimed.template_name):
            try:
                extra_context = provider(claimed)
            except NotRelevant as exc:
                return _cancel(claimed=claimed, reason=f"Tidak dikirim: {exc}", now=now)
            except Exception as exc:  # a bug or the database: retried like a send failure
                logger.exception("send-time context of outbox %s failed", claimed.pk)
                failure = DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)
                result = SendResult(error=failure)
        result = result or _send(claimed, extra_context)
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
    """Deliver one row if it is due. A row that is not due (already SENT, in DLQ, waiting for
    its retry time, or leased to a live worker) is left alone: `Outcome.SKIPPED`. Returns an
    `Outcome` value; never raises for provider errors."""
    return outbox_deliver_each(outbox_ids=[outbox_id], worker_id=worker_id, now=now)[outbox_id]


def outbox_deliver_each(
    *, outbox_ids: Sequence[int], worker_id: str | None = None, now: datetime | None = None
) -> dict[int, str]:
    """Deliver the rows one transaction queued (the Celery task published after its commit):
    one claim for all of them, then each is sent in turn, so a payment's WhatsApp goes out
    once its email was handed to the provider. Returns each id's `Outcome` (`SKIPPED`: not
    due, see `outbox_deliver`). A row whose send raised does not stop the others; the first
    such error is raised once every row was tried (its lease expires and the sweep retries)."""
    claimed = _claim(
        limit=len(outbox_ids),
        worker_id=worker_id or default_worker_id(),
        now=now or timezone.now(),
        outbox_ids=outbox_ids,
    )
    outcomes = dict.fromkeys(outbox_ids, Outcome.SKIPPED)
    errors: list[Exception] = []
    for row in claimed:  # the rows the claim cancelled answer CANCELLED without a send
        try:
            outcomes[row.pk] = outbox_send_claimed(claimed=row, now=now)
        except Exception as exc:
            errors.append(exc)
    for outbox_id, outcome in outcomes.items():
        if outcome == Outcome.SKIPPED:
            logger.info("event=outbox_skipped outbox_id=%s (not due or taken)", outbox_id)
    if errors:
        raise errors[0]
    return outcomes


class _Senders:
    """Send the rows of a claimed batch side by side: a send waits on the provider and its
    write-back on the database's commit, and `size` threads overlap those waits instead of
    queueing behind each other. Each thread has its own database connection (Django's are per
    thread), closed when the senders stop. `size` 1 sends in the caller's thread, one row
    after another (the tests: their rows live in the test's own transaction)."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "_Senders":
        if self._size > 1:
            self._threads = [
                threading.Thread(target=self._work, name=f"outbox-send-{n}", daemon=True)
                for n in range(self._size)
            ]
            for thread in self._threads:
                thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                future, claimed, now = job
                try:
                    future.set_result(outbox_send_claimed(claimed=claimed, now=now))
                except BaseException as exc:  # handed to the caller, raised there
                    future.set_exception(exc)
        finally:
            connections.close_all()

    def submit(
        self, batch: Sequence[NotificationOutbox], *, now: datetime | None
    ) -> list[Future[str]]:
        """One future per row: its outcome, or the exception its send raised. With size 1
        the rows are sent here and now, one after another."""
        futures: list[Future[str]] = []
        for claimed in batch:
            futures.append(Future())
            if self._threads:
                self._jobs.put((futures[-1], claimed, now))
            else:
                futures[-1].set_result(outbox_send_claimed(claimed=claimed, now=now))
        return futures


def _tally(counts: dict[str, int], futures: list[Future[str]]) -> None:
    """Count each row's outcome once the whole batch is done; a row's exception is raised
    after that (every row was claimed: sending the others is still right)."""
    wait(futures)
    for future in futures:
        outcome = future.result()  # raises that row's exception
        counts[outcome] = counts.get(outcome, 0) + 1


def outbox_dispatch_due(
    *, limit: int = 1000, worker_id: str | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Drain due rows (the Beat sweep and `manage.py dispatch_outbox`): claim a small batch
    (OUTBOX_CLAIM_BATCH), send its rows side by side (OUTBOX_SEND_CONCURRENCY), repeat until
    nothing is due or `limit` rows were handled.
    Safe to run on several workers at once. Returns counts per outcome."""
    worker_id = worker_id or default_worker_id()
    counts = {
        Outcome.SENT: 0,
        Outcome.RETRYING: 0,
        Outcome.DLQ: 0,
        Outcome.LOST: 0,
        Outcome.CANCELLED: 0,
    }
    handled = 0
    in_flight: deque[list[Future[str]]] = deque()
    with _Senders(settings.OUTBOX_SEND_CONCURRENCY) as senders:
        # The next batch is claimed while the senders work on the one before (at most two
        # batches leased and unsent at any time: both well inside their leases).
        # A claim that met rows it had to cancel (a backlog of instructions for orders paid
        # meanwhile) makes the next one read that many rows more, so each batch still has
        # about OUTBOX_CLAIM_BATCH rows to send.
        cancelled = 0
        while handled < limit:
            want = min(settings.OUTBOX_CLAIM_BATCH, limit - handled)
            batch = _claim(
                limit=want,
                read=min(want + cancelled, limit - handled),
                worker_id=worker_id,
                now=now or timezone.now(),
            )
            if not batch:
                break
            to_send = [row for row in batch if row.status == OutboxStatus.SENDING]
            cancelled = len(batch) - len(to_send)
            counts[Outcome.CANCELLED] += cancelled
            in_flight.append(senders.submit(to_send, now=now))
            handled += len(batch)
            if len(in_flight) > 1:
                _tally(counts, in_flight.popleft())
        while in_flight:
            _tally(counts, in_flight.popleft())
    logger.info(
        "event=outbox_dispatch_run sent=%s retrying=%s dlq=%s lost=%s cancelled=%s",
        counts[Outcome.SENT],
        counts[Outcome.RETRYING],
        counts[Outcome.DLQ],
        counts[Outcome.LOST],
        counts[Outcome.CANCELLED],
    )
    return counts
