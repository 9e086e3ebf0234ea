"""Midtrans notifications: ONE processing path for the webhook and for reconciliation.

`payment_notification_process` takes a Midtrans transaction body (a webhook notification or a
GET-status answer: both carry the same fields and the same `signature_key`) and, in one
transaction: verifies the signature (`payments.parsing`), finds the attempt, locks its order,
stores a `PaymentEvent` under an idempotency key (a duplicate is a no-op), checks the amount,
and maps the Midtrans status onto the attempt and, through `orders.services.order_transition`,
the order.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Exists, Func
from django.utils import timezone

from buatfilm.db import QueryTemplate
from buatfilm.logging import correlate
from notifications.models import Template
from notifications.services import ops_alert_enqueue
from orders.messages import attempt_message_enqueue
from orders.models import Order, OrderStatus
from orders.selectors import attempt_failure_text
from orders.services import order_transition
from payments.models import AttemptStatus, EventSource, PaymentAttempt, PaymentEvent
from payments.parsing import (
    DETAIL_FIELDS,
    Action,
    amount_matches,
    notification_idempotency_key,
    notification_signature_verify,
    payload_sanitise,
    status_action,
    text_field,
    valid_ip,
)
from payments.selectors import (
    order_has_other_completed_attempt,
    order_has_other_live_attempt,
)
from supportdesk.audit import SYSTEM_RECONCILIATION, SYSTEM_WEBHOOK, audit_record

logger = logging.getLogger(__name__)

S = OrderStatus


class Outcome(StrEnum):
    """What a processed notification did; stored in `PaymentEvent.outcome`."""

    PAID = "paid"
    PAID_LATE = "paid_late"
    ALREADY_PAID = "already_paid"
    DOUBLE_PAYMENT = "double_payment"
    DUPLICATE = "duplicate"
    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"
    # Not a combination in the documented status table (`payments.parsing.STATUS_TABLE`).
    UNRECOGNISED = "unrecognised_combination"
    REVERSAL_ALERTED = "reversal_alerted"
    NEEDS_REVIEW = "needs_review"
    PENDING_RECORDED = "pending_recorded"
    ATTEMPT_FAILED = "attempt_failed"
    ORDER_FAILED = "order_failed"
    ORDER_EXPIRED = "order_expired"
    REFUNDED = "refunded"
    ALREADY_REFUNDED = "already_refunded"
    REFUND_NOT_APPLIED = "refund_not_applied"
    OPS_ALERTED = "ops_alerted"
    IGNORED_ORDER_PAID = "ignored_order_paid"
    IGNORED_ORDER_REFUNDED = "ignored_order_refunded"
    IGNORED_STALE = "ignored_stale"


# Outcomes that moved the order: found by reconciliation, they mean a webhook went missing.
# (PAID_LATE is left out: the state machine already raises a `late_payment` alert for it.)
ORDER_CHANGING_OUTCOMES = frozenset(
    {
        Outcome.PAID,
        Outcome.ORDER_FAILED,
        Outcome.ORDER_EXPIRED,
        Outcome.REFUNDED,
        Outcome.DOUBLE_PAYMENT,
    }
)


@dataclass(frozen=True)
class NotificationOutcome:
    outcome: Outcome
    midtrans_order_id: str
    order_id: str | None = None
    event_id: int | None = None
    order_status: str | None = None

    @property
    def http_status(self) -> int:
        """What the webhook answers: 404 for an order id we never issued (Midtrans retries a
        404 twice, then gives up), 200 for everything stored or already stored."""
        return 404 if self.order_id is None else 200


# --- Writes --------------------------------------------------------------------------------


def _event_new(
    *,
    payload: Mapping[str, Any],
    key: str,
    source: str,
    attempt: PaymentAttempt | None,
    remote_ip: str | None,
    event_id: int | None = None,
) -> PaymentEvent:
    """The event of this notification, not yet written (`_event_write`)."""
    return PaymentEvent(
        id=event_id,
        idempotency_key=key,
        source=source,
        attempt=attempt,
        order_id=attempt.order_id if attempt else None,
        midtrans_order_id=text_field(payload, "order_id", 64),
        transaction_id=text_field(payload, "transaction_id", 64),
        transaction_status=text_field(payload, "transaction_status", 32),
        status_code=text_field(payload, "status_code", 8),
        fraud_status=text_field(payload, "fraud_status", 16),
        payment_type=text_field(payload, "payment_type", 32),
        gross_amount=text_field(payload, "gross_amount", 32),
        # Never keep a secret-derived value.
        raw_payload={k: v for k, v in payload.items() if k != "signature_key"},
        signature_valid=True,
        remote_ip=valid_ip(remote_ip),
    )


def _event_write(event: PaymentEvent, outcome: "Outcome | None" = None) -> None:
    """Insert the event under its idempotency key, with its outcome when it is known; an event
    inserted before (SQLite, see `_NextEventId`) gets its outcome set. No savepoint: a
    duplicate key raises IntegrityError, which rolls back the whole notification
    (`payment_notification_process` then answers DUPLICATE). On PostgreSQL a concurrent
    insert of the same key waits for the first transaction, so a duplicate is only reported
    after the original committed."""
    if outcome is not None:
        event.outcome = outcome
    if event._state.adding:
        event.save(force_insert=True)
    else:
        event.save(update_fields=["outcome"])


def _attempt_record(
    *, attempt: PaymentAttempt, payload: Mapping[str, Any], status: str, now: datetime
) -> None:
    """Write what Midtrans told us onto the attempt, and its new status. Callers decide
    whether the move is allowed (a COMPLETED attempt never goes back)."""
    attempt.status = status
    if status == AttemptStatus.COMPLETED and attempt.completed_at is None:
        attempt.completed_at = now
    attempt.midtrans_transaction_id = (
        text_field(payload, "transaction_id", 64) or attempt.midtrans_transaction_id
    )
    attempt.transaction_status = text_field(payload, "transaction_status", 32)
    attempt.fraud_status = text_field(payload, "fraud_status", 16)
    attempt.payment_type = text_field(payload, "payment_type", 32) or attempt.payment_type

    va_numbers = payload.get("va_numbers")
    if isinstance(va_numbers, list) and va_numbers and isinstance(va_numbers[0], Mapping):
        attempt.va_number = text_field(va_numbers[0], "va_number", 64) or attempt.va_number
        attempt.bank = text_field(va_numbers[0], "bank", 32) or attempt.bank
    elif permata := text_field(payload, "permata_va_number", 64):
        attempt.va_number, attempt.bank = permata, "permata"
    attempt.bill_key = text_field(payload, "bill_key", 64) or attempt.bill_key
    attempt.biller_code = text_field(payload, "biller_code", 32) or attempt.biller_code
    details = {name: payload[name] for name in DETAIL_FIELDS if name in payload}
    attempt.payment_details = {**(attempt.payment_details or {}), **details}
    attempt.save(
        update_fields=[
            "status",
            "completed_at",
            "midtrans_transaction_id",
            "transaction_status",
            "fraud_status",
            "payment_type",
            "va_number",
            "bank",
            "bill_key",
            "biller_code",
            "payment_details",
            "needs_review",
            "updated_at",
        ]
    )


def _audit_ignored(*, order: Order, event: PaymentEvent, actor: str) -> None:
    """UC-013: a late non-paid event for a PAID (or REFUNDED) order is stored and ignored."""
    audit_record(
        actor=actor,
        action="payment_event_ignored",
        entity_type="order",
        entity_id=order.order_id,
        old_value={"status": order.status},
        new_value={
            "status": order.status,
            "payment_event": event.pk,
            "midtrans_order_id": event.midtrans_order_id,
            "transaction_status": event.transaction_status,
            "source": event.source,
        },
        correlation_id=order.order_id,
    )


def _ignored_for(order: Order) -> Outcome:
    return (
        Outcome.IGNORED_ORDER_REFUNDED if order.status == S.REFUNDED else Outcome.IGNORED_ORDER_PAID
    )


def _alert(*, key: str, subject: str, message: str, order: Order) -> None:
    ops_alert_enqueue(dedupe_key=key, subject=subject, message=message, order=order)


@dataclass
class _Context:
    event: PaymentEvent
    attempt: PaymentAttempt
    order: Order
    payload: Mapping[str, Any]
    actor: str
    now: datetime

    def transition(self, to_status: str, reason: str, *, notify: bool = True) -> str:
        result = order_transition(
            order_id=self.order.order_id,
            to_status=to_status,
            actor=self.actor,
            reason=reason,
            payment_event=self.event if to_status in (S.PAID, S.REFUNDED) else None,
            now=self.now,
            notify=notify,
            locked_order=self.order,
        )
        self.order = result.order
        return result.from_status


def _apply_paid(ctx: _Context) -> Outcome:
    """Settlement / capture+accept: money is money, whichever attempt it is for."""
    was_completed = ctx.attempt.status == AttemptStatus.COMPLETED
    if ctx.order.status in (S.PAID, S.REFUNDED):
        if was_completed:
            return Outcome.ALREADY_PAID
        _attempt_record(
            attempt=ctx.attempt, payload=ctx.payload, status=AttemptStatus.COMPLETED, now=ctx.now
        )
        _alert(
            key=f"double_payment:{ctx.attempt.midtrans_order_id}",
            subject=f"Pembayaran ganda: {ctx.order.order_id}",
            message=(
                f"Order {ctx.order.order_id} sudah {ctx.order.status}, tetapi Midtrans juga "
                f"mengonfirmasi pembayaran untuk {ctx.attempt.midtrans_order_id}. Pelanggan "
                "membayar dua kali: periksa dan kembalikan dana yang berlebih."
            ),
            order=ctx.order,
        )
        return Outcome.DOUBLE_PAYMENT
    _attempt_record(
        attempt=ctx.attempt, payload=ctx.payload, status=AttemptStatus.COMPLETED, now=ctx.now
    )
    if ctx.order.status == S.CREATED:
        # Snap was created but checkout never recorded it (crash between the two): the
        # transaction exists, so the order was in fact waiting for payment. Paid already:
        # no payment instructions next to the success message.
        ctx.transition(S.PENDING_PAYMENT, "Transaksi Midtrans sudah dibuat", notify=False)
    from_status = ctx.transition(S.PAID, "Pembayaran terkonfirmasi Midtrans")
    return Outcome.PAID_LATE if from_status in (S.EXPIRED, S.FAILED) else Outcome.PAID


def _apply_challenge(ctx: _Context) -> Outcome:
    """capture + challenge: the card payment waits for a fraud review in the Midtrans portal;
    the order stays where it is, support is told."""
    if ctx.attempt.status == AttemptStatus.COMPLETED:
        return _apply_stale(ctx)
    ctx.attempt.needs_review = True  # saved by _attempt_record below
    new_status = (
        AttemptStatus.PENDING if ctx.attempt.status == AttemptStatus.CREATED else ctx.attempt.status
    )
    _attempt_record(attempt=ctx.attempt, payload=ctx.payload, status=new_status, now=ctx.now)
    _alert(
        key=f"fraud_challenge:{ctx.attempt.midtrans_order_id}",
        subject=f"Perlu review fraud: {ctx.order.order_id}",
        message=(
            f"Midtrans menandai pembayaran {ctx.attempt.midtrans_order_id} sebagai 'challenge'. "
            "Setujui atau tolak di dashboard Midtrans; order menunggu keputusan itu."
        ),
        order=ctx.order,
    )
    if ctx.order.status in (S.PAID, S.REFUNDED):
        _audit_ignored(order=ctx.order, event=ctx.event, actor=ctx.actor)
        return _ignored_for(ctx.order)
    return Outcome.NEEDS_REVIEW


def _apply_stale(ctx: _Context) -> Outcome:
    """An older event after the attempt already settled or closed: stored, never applied."""
    if ctx.order.status in (S.PAID, S.REFUNDED):
        _audit_ignored(order=ctx.order, event=ctx.event, actor=ctx.actor)
        return _ignored_for(ctx.order)
    return Outcome.IGNORED_STALE


def _apply_pending(ctx: _Context) -> Outcome:
    """The customer picked a method: keep the VA number / bill key / QR actions."""
    if ctx.attempt.status in (AttemptStatus.COMPLETED, AttemptStatus.FAILED):
        return _apply_stale(ctx)
    had_details = any(name in (ctx.attempt.payment_details or {}) for name in PAYMENT_DETAIL_FIELDS)
    _attempt_record(
        attempt=ctx.attempt, payload=ctx.payload, status=AttemptStatus.PENDING, now=ctx.now
    )
    if ctx.order.status in (S.PAID, S.REFUNDED):
        _audit_ignored(order=ctx.order, event=ctx.event, actor=ctx.actor)
        return _ignored_for(ctx.order)
    if not had_details and any(name in ctx.payload for name in PAYMENT_DETAIL_FIELDS):
        # Midtrans issued the way to pay (VA number, bill key, QR / deep link) for the first
        # time: send it once per attempt, with the amount, the deadline and the status page.
        # (The attempt's stored details, read under the order lock, say whether it was sent.)
        attempt_message_enqueue(
            order=ctx.order,
            attempt=ctx.attempt,
            template=Template.PAYMENT_DETAILS,
            extra_context={},
            assume_new=True,
        )
    return Outcome.PENDING_RECORDED


# Fields of a `pending` notification that mean the customer now has something to pay with.
PAYMENT_DETAIL_FIELDS = ("va_numbers", "permata_va_number", "bill_key", "actions", "qr_string")


def _tell_attempt_failed(ctx: _Context) -> None:
    """One `payment_attempt_failed` per attempt (email + WhatsApp) while the order can still be
    paid with a new attempt: why, and the status page that offers the retry with any method."""
    attempt_message_enqueue(
        order=ctx.order,
        attempt=ctx.attempt,
        template=Template.PAYMENT_ATTEMPT_FAILED,
        extra_context={"reason": attempt_failure_text(attempt=ctx.attempt)},
    )


def _apply_closed(ctx: _Context, status: str) -> Outcome:
    """deny/failure: only the attempt fails (UC-006, the customer may try again);
    cancel: the order FAILS unless another attempt is live;
    expire: the order EXPIRES when its own time is up and no other attempt is live.
    deny after this attempt settled is a reversal (Permata, Mandiri bill, Indomaret: "treat as
    not paid", https://docs.midtrans.com/docs/transaction-status-cycle): the order stays PAID
    (UC-013), ops are told which order and channel, support decides (offline refund)."""
    if ctx.attempt.status == AttemptStatus.COMPLETED:
        if status == Action.DENY:
            return _apply_reversal(ctx)
        return _apply_stale(ctx)
    _attempt_record(
        attempt=ctx.attempt, payload=ctx.payload, status=AttemptStatus.FAILED, now=ctx.now
    )
    if ctx.order.status in (S.PAID, S.REFUNDED):
        _audit_ignored(order=ctx.order, event=ctx.event, actor=ctx.actor)
        return _ignored_for(ctx.order)
    if status not in ("cancel", "expire") or ctx.order.status != S.PENDING_PAYMENT:
        _tell_attempt_failed(ctx)
        return Outcome.ATTEMPT_FAILED
    if order_has_other_live_attempt(order_id=ctx.order.order_id, exclude_attempt_id=ctx.attempt.pk):
        return Outcome.ATTEMPT_FAILED  # the customer is already paying another attempt
    if status == "cancel":
        ctx.transition(S.FAILED, "Pembayaran dibatalkan")
        return Outcome.ORDER_FAILED
    if ctx.now < ctx.order.expires_at:
        # Midtrans expired the transaction before our order's time is up: the customer may
        # still start a new attempt; the expiry job closes the order at `expires_at`.
        _tell_attempt_failed(ctx)
        return Outcome.ATTEMPT_FAILED
    ctx.transition(S.EXPIRED, "Batas waktu pembayaran habis")
    return Outcome.ORDER_EXPIRED


def _apply_reversal(ctx: _Context) -> Outcome:
    channel = ctx.attempt.payment_type or ctx.attempt.payment_method
    if ctx.attempt.bank:
        channel = f"{channel} ({ctx.attempt.bank})"
    _alert(
        key=f"reversal:{ctx.attempt.midtrans_order_id}",
        subject=f"Pembayaran dibatalkan setelah lunas: {ctx.order.order_id}",
        message=(
            f"Midtrans mengirim 'deny' untuk {ctx.attempt.midtrans_order_id} (order "
            f"{ctx.order.order_id}, kanal {channel}) yang sebelumnya sudah 'settlement'. "
            f"Midtrans: anggap belum dibayar. Order tetap {ctx.order.status} dan akses kursus "
            "tidak dicabut otomatis; periksa di dashboard Midtrans lalu putuskan (catat refund "
            "offline bila perlu)."
        ),
        order=ctx.order,
    )
    audit_record(
        actor=ctx.actor,
        action="payment_reversal",
        entity_type="order",
        entity_id=ctx.order.order_id,
        old_value={"status": ctx.order.status},
        new_value={
            "status": ctx.order.status,
            "payment_event": ctx.event.pk,
            "midtrans_order_id": ctx.attempt.midtrans_order_id,
            "channel": channel,
        },
        correlation_id=ctx.order.order_id,
    )
    return Outcome.REVERSAL_ALERTED


def _apply_refund(ctx: _Context) -> Outcome:
    """A full refund revokes access, but only when it returns the payment that paid the order
    (a refund of a double payment leaves the order PAID)."""
    if ctx.order.status == S.REFUNDED:
        return Outcome.ALREADY_REFUNDED
    applicable = (
        ctx.order.status == S.PAID
        and ctx.attempt.status == AttemptStatus.COMPLETED
        and not order_has_other_completed_attempt(
            order_id=ctx.order.order_id, exclude_attempt_id=ctx.attempt.pk
        )
    )
    if not applicable:
        _alert(
            key=f"refund_not_applied:event:{ctx.event.pk}",
            subject=f"Refund tidak diterapkan: {ctx.order.order_id}",
            message=(
                f"Midtrans mengirim refund untuk {ctx.attempt.midtrans_order_id}, tetapi order "
                f"berstatus {ctx.order.status} dan attempt {ctx.attempt.status}. Status order "
                "tidak diubah; periksa secara manual."
            ),
            order=ctx.order,
        )
        return Outcome.REFUND_NOT_APPLIED
    ctx.attempt.transaction_status = "refund"
    ctx.attempt.save(update_fields=["transaction_status", "updated_at"])
    ctx.transition(S.REFUNDED, "Dana dikembalikan (refund Midtrans)")
    return Outcome.REFUNDED


def _apply_ops_only(ctx: _Context, status: str) -> Outcome:
    """partial_refund / chargeback: money moved, access does not change; people decide."""
    _alert(
        key=f"{status}:event:{ctx.event.pk}",
        subject=f"Midtrans {status}: {ctx.order.order_id}",
        message=(
            f"Midtrans mengirim '{status}' untuk {ctx.attempt.midtrans_order_id} "
            f"(order {ctx.order.order_id}, status {ctx.order.status}). Status order dan akses "
            "kursus tidak diubah otomatis; periksa dan tindak lanjuti."
        ),
        order=ctx.order,
    )
    return Outcome.OPS_ALERTED


def _event_apply(ctx: _Context) -> Outcome:
    status = ctx.event.transaction_status
    fraud = ctx.event.fraud_status
    if not amount_matches(payload=ctx.payload, attempt=ctx.attempt):
        _alert(
            key=f"amount_mismatch:event:{ctx.event.pk}",
            subject=f"Nominal tidak cocok: {ctx.order.order_id}",
            message=(
                f"Midtrans melaporkan {ctx.event.gross_amount!r} "
                f"{ctx.payload.get('currency', '')} untuk {ctx.attempt.midtrans_order_id} "
                f"({status}), tetapi tagihan kita Rp {ctx.attempt.amount}. Notifikasi disimpan "
                "dan TIDAK diterapkan."
            ),
            order=ctx.order,
        )
        return Outcome.AMOUNT_MISMATCH
    action = status_action(
        source=ctx.event.source,
        transaction_status=status,
        fraud_status=fraud,
        status_code=ctx.event.status_code,
    )
    if action == Action.UNRECOGNISED:
        _alert(
            key=f"unrecognised_notification:event:{ctx.event.pk}",
            subject=f"Notifikasi janggal: {ctx.order.order_id}",
            message=(
                f"Midtrans ({ctx.event.source}) mengirim transaction_status {status!r}, "
                f"fraud_status {fraud!r}, status_code {ctx.event.status_code!r} untuk "
                f"{ctx.attempt.midtrans_order_id}: kombinasi ini tidak ada di tabel status "
                "Midtrans, jadi disimpan dan TIDAK diterapkan. Cek di dashboard Midtrans."
            ),
            order=ctx.order,
        )
        return Outcome.UNRECOGNISED
    if action == Action.PAID:
        return _apply_paid(ctx)
    if action == Action.CHALLENGE:
        return _apply_challenge(ctx)
    if action == Action.PENDING:
        return _apply_pending(ctx)
    if action in (Action.DENY, Action.FAILURE, Action.CANCEL, Action.EXPIRE):
        return _apply_closed(ctx, action)
    if action == Action.REFUND:
        return _apply_refund(ctx)
    return _apply_ops_only(ctx, status)


def payment_notification_process(
    *,
    payload: Mapping[str, Any],
    source: EventSource,
    remote_ip: str | None,
    actor: str | None = None,
    now: datetime | None = None,
) -> NotificationOutcome:
    """Verify, store and apply one Midtrans transaction body (webhook or GET status).

    Guarantees, all in one database transaction: the signature is valid; the event is stored
    exactly once per idempotency key (a repeat returns `Outcome.DUPLICATE` and changes
    nothing); events of one order are serialised by a row lock on the order; an amount that is
    not exactly the attempt's amount in IDR is stored, not applied, and raised to ops; a
    PAID order never moves backwards (late events are stored, ignored and audited); every
    status change goes through `order_transition`. An unknown Midtrans order id is stored
    without attempt (`Outcome.UNKNOWN_ORDER`, http_status 404).

    Raises `NotificationRejected` (nothing stored), `ImproperlyConfigured` (no server key), and
    lets any other error propagate after rolling everything back (the webhook answers 500 so
    Midtrans retries).
    """
    payload, sanitised = payload_sanitise(payload)
    if sanitised:
        logger.warning(
            "event=notification_sanitised source=%s fields=%s",
            source,
            ",".join(sanitised[:10]),
        )
    midtrans_order_id = notification_signature_verify(payload=payload)
    actor = actor or (
        SYSTEM_RECONCILIATION if source == EventSource.RECONCILIATION else SYSTEM_WEBHOOK
    )
    now = now or timezone.now()
    key = notification_idempotency_key(payload=payload)

    try:
        return _notification_apply(
            payload=payload,
            midtrans_order_id=midtrans_order_id,
            key=key,
            source=source,
            remote_ip=remote_ip,
            actor=actor,
            now=now,
        )
    except IntegrityError:
        # A concurrent copy of this notification committed first (its event has the key):
        # everything this one wrote is rolled back, and it is the duplicate.
        if not PaymentEvent.objects.filter(idempotency_key=key).exists():
            raise
        found = (
            Order.objects.filter(attempts__midtrans_order_id=midtrans_order_id)
            .values_list("order_id", "status")
            .first()
        )
        logger.info("duplicate notification %s ignored (concurrent copy)", key)
        return NotificationOutcome(
            outcome=Outcome.DUPLICATE,
            midtrans_order_id=midtrans_order_id,
            order_id=found[0] if found else None,
            order_status=found[1] if found else None,
        )


# The attempt of a Midtrans order id with its order, both row-locked, `seen` (the event of
# this idempotency key exists) and the package and course the order sells (read, never locked:
# every order shares them; entering PAID needs them for the entitlement and the access
# message): compiled to SQL once per process, it is every notification's first statement.
# The order is locked first (`of` names it first: PostgreSQL takes the row locks in that
# order), like every other writer of an attempt (checkout, the stuck-attempt job), so a
# notification never holds the attempt while it queues for the order. Locking the attempt
# too is what makes its columns current after the wait: PostgreSQL re-reads the locked rows
# of a join once the lock is granted, and returns the others as they were when the statement
# began.
# `event_id` (PostgreSQL): the id the event of this notification will have, drawn from its
# sequence here so that the event can be written last, with its outcome, in one INSERT (the
# transition's audit row and the alerts name it before). A duplicate leaves that id unused.
class _NextEventId(Func):
    template = "NULL"  # no sequence to draw from (SQLite): the event is inserted first
    output_field = BigIntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        table = PaymentEvent._meta.db_table
        return self.as_sql(
            compiler, connection, template=f"nextval(pg_get_serial_sequence('{table}', 'id'))"
        )


_LOCKED_ATTEMPT: QueryTemplate[PaymentAttempt] = QueryTemplate(
    lambda *, key, midtrans_order_id: (
        PaymentAttempt.objects.select_for_update(of=("order", "self"))
        .select_related("order__package__course")
        .annotate(
            seen=Exists(PaymentEvent.objects.filter(idempotency_key=key)),
            event_id=_NextEventId(),
        )
        .filter(midtrans_order_id=midtrans_order_id)
    )
)


def _notification_apply(
    *,
    payload: Mapping[str, Any],
    midtrans_order_id: str,
    key: str,
    source: EventSource,
    remote_ip: str | None,
    actor: str,
    now: datetime,
) -> NotificationOutcome:
    with transaction.atomic():
        # The order row lock serialises every event of the order (webhook and reconciliation);
        # everything read after it is current. `seen`: this exact notification is stored
        # already (the common duplicate, answered without writing anything).
        attempt = _LOCKED_ATTEMPT.first(key=key, midtrans_order_id=midtrans_order_id)
        if attempt is None:
            event = _event_new(
                payload=payload, key=key, source=source, attempt=None, remote_ip=remote_ip
            )
            _event_write(event, Outcome.UNKNOWN_ORDER)
            logger.warning("notification for unknown midtrans order id %s", midtrans_order_id)
            return NotificationOutcome(
                outcome=Outcome.UNKNOWN_ORDER,
                midtrans_order_id=midtrans_order_id,
                event_id=event.pk,
            )
        order = attempt.order
        with correlate(order.order_id):
            read = cast("Any", attempt)  # with the annotations of _LOCKED_ATTEMPT
            if read.seen:
                logger.info("duplicate notification %s ignored", key)
                return NotificationOutcome(
                    outcome=Outcome.DUPLICATE,
                    midtrans_order_id=midtrans_order_id,
                    order_id=order.order_id,
                    order_status=order.status,
                )
            event = _event_new(
                payload=payload,
                key=key,
                source=source,
                attempt=attempt,
                remote_ip=remote_ip,
                event_id=read.event_id,
            )
            if event.pk is None:  # no id drawn (SQLite): stored now, its outcome set below
                _event_write(event)
            ctx = _Context(
                event=event, attempt=attempt, order=order, payload=payload, actor=actor, now=now
            )
            outcome = _event_apply(ctx)
            if source == EventSource.RECONCILIATION and outcome in ORDER_CHANGING_OUTCOMES:
                # Midtrans knew something our webhook never told us: the notification was lost
                # (or is late). The order is fixed now; ops should know the webhook path leaks.
                _alert(
                    key=f"reconciliation_discrepancy:event:{event.pk}",
                    subject=f"Rekonsiliasi mengubah order {order.order_id}",
                    message=(
                        f"Midtrans melaporkan '{event.transaction_status}' untuk "
                        f"{midtrans_order_id}, tetapi webhook-nya tidak pernah kami terima. "
                        f"Order kini {ctx.order.status} ({outcome}). Periksa pengiriman "
                        "notifikasi Midtrans ke situs."
                    ),
                    order=ctx.order,
                )
            _event_write(event, outcome)
            logger.info(
                "midtrans %s %s (%s) -> %s; order %s",
                midtrans_order_id,
                event.transaction_status,
                source,
                outcome,
                ctx.order.status,
            )
    return NotificationOutcome(
        outcome=outcome,
        midtrans_order_id=midtrans_order_id,
        order_id=order.order_id,
        event_id=event.pk,
        order_status=ctx.order.status,
    )
