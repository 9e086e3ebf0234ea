"""Midtrans notifications: ONE processing path for the webhook and for reconciliation.

`payment_notification_process` takes a Midtrans transaction body (a webhook notification or a
GET-status answer: both carry the same fields and the same `signature_key`) and, in one
transaction: verifies the signature, finds the attempt, locks its order, stores a
`PaymentEvent` under an idempotency key (a duplicate is a no-op), checks the amount, and maps
the Midtrans status onto the attempt and, through `orders.services.order_transition`, the order.

Idempotency key (`notification_idempotency_key`):
    `<transaction_id or "order:"+midtrans order id>:<transaction_status>:<fraud_status>:
    <status_code>:<gross_amount as 2-decimal number>` plus, for refund-like statuses,
    `:<refund_amount>:<number of refunds>` (two partial refunds of one transaction are two
    events). The same fact seen by the webhook and by reconciliation has the same key, so the
    second is a no-op whatever its source. Keys longer than 200 characters are stored as their
    SHA-256.
"""

import hashlib
import hmac
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from buatfilm.logging import correlate
from notifications.services import ops_alert_enqueue
from orders.models import Order, OrderStatus
from orders.services import order_transition
from payments.models import AttemptStatus, EventSource, PaymentAttempt, PaymentEvent
from payments.selectors import (
    order_has_other_completed_attempt,
    order_has_other_live_attempt,
    transaction_is_paid,
)
from supportdesk.audit import SYSTEM_RECONCILIATION, SYSTEM_WEBHOOK, audit_record

logger = logging.getLogger(__name__)

S = OrderStatus

# Fields the signature covers, plus the one we cannot act without.
SIGNED_FIELDS = ("order_id", "status_code", "gross_amount")
REQUIRED_FIELDS = (*SIGNED_FIELDS, "signature_key", "transaction_status")
# Statuses that mean "money" (or its return): Midtrans always pairs them with status_code 200.
# The signature does not cover transaction_status, so a signed 201 "pending" body must not be
# replayable as a "settlement"; a money status with another status code is never applied.
MONEY_STATUSES = frozenset({"settlement", "capture", "refund"})
REFUND_LIKE_STATUSES = frozenset({"refund", "partial_refund", "chargeback", "partial_chargeback"})
OPS_ONLY_STATUSES = frozenset({"partial_refund", "chargeback", "partial_chargeback"})
CLOSED_ATTEMPT_STATUSES = frozenset({"deny", "failure", "cancel", "expire"})
# Channel details worth keeping on the attempt (status page, messages, support).
_DETAIL_FIELDS = (
    "va_numbers",
    "permata_va_number",
    "bill_key",
    "biller_code",
    "actions",
    "payment_code",
    "store",
    "issuer",
    "acquirer",
    "transaction_time",
    "settlement_time",
    "expiry_time",
)


class NotificationRejected(Exception):
    """The body is not a genuine Midtrans message (missing fields or a wrong signature).
    Nothing was stored. `reason` and `midtrans_order_id` are safe to log and audit."""

    def __init__(self, reason: str, *, midtrans_order_id: str = "", fields: tuple[str, ...] = ()):
        super().__init__(reason)
        self.reason = reason
        self.midtrans_order_id = midtrans_order_id
        self.fields = fields


class Outcome(StrEnum):
    """What a processed notification did; stored in `PaymentEvent.outcome`."""

    PAID = "paid"
    PAID_LATE = "paid_late"
    ALREADY_PAID = "already_paid"
    DOUBLE_PAYMENT = "double_payment"
    DUPLICATE = "duplicate"
    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"
    STATUS_CODE_MISMATCH = "status_code_mismatch"
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
    IGNORED_UNKNOWN_STATUS = "ignored_unknown_status"


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


# --- Pure helpers --------------------------------------------------------------------------


def _text(payload: Mapping[str, Any], name: str, max_length: int) -> str:
    """A string field of a loosely parsed body: non-strings count as absent, and values are
    cut to the column length so a surprising body cannot turn into a database error."""
    value = payload.get(name)
    return value[:max_length] if isinstance(value, str) else ""


def notification_signature(
    *, order_id: str, status_code: str, gross_amount: str, server_key: str
) -> str:
    """Midtrans `signature_key`: hex SHA-512 of the four raw strings concatenated."""
    raw = f"{order_id}{status_code}{gross_amount}{server_key}"
    # surrogatepass: a forged body with lone surrogates must fail the comparison, not crash.
    return hashlib.sha512(raw.encode("utf-8", "surrogatepass")).hexdigest()


def notification_signature_verify(*, payload: Mapping[str, Any]) -> str:
    """Check that `payload` was signed by Midtrans with our server key; return its Midtrans
    order id. Constant-time comparison on the raw strings, no normalisation.

    Raises `NotificationRejected` (missing fields, wrong signature) and `ImproperlyConfigured`
    when MIDTRANS_SERVER_KEY is empty (then anyone could compute a valid signature)."""
    order_id = payload.get("order_id")
    safe_order_id = order_id[:64] if isinstance(order_id, str) else ""
    missing = tuple(f for f in REQUIRED_FIELDS if not _text(payload, f, 100_000))
    if missing:
        raise NotificationRejected(
            "missing_fields", midtrans_order_id=safe_order_id, fields=missing
        )
    server_key = settings.MIDTRANS_SERVER_KEY
    if not server_key:
        raise ImproperlyConfigured("MIDTRANS_SERVER_KEY is empty: notifications cannot be verified")
    expected = notification_signature(
        order_id=payload["order_id"],
        status_code=payload["status_code"],
        gross_amount=payload["gross_amount"],
        server_key=server_key,
    )
    if not hmac.compare_digest(
        expected.encode(), payload["signature_key"].encode("utf-8", "surrogatepass")
    ):
        raise NotificationRejected("invalid_signature", midtrans_order_id=safe_order_id)
    return payload["order_id"]


def _amount(value: object) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def notification_idempotency_key(*, payload: Mapping[str, Any]) -> str:
    """The key that makes a redelivered fact a no-op (see the module docstring)."""
    status = _text(payload, "transaction_status", 32)
    amount = _amount(payload.get("gross_amount"))
    parts = [
        _text(payload, "transaction_id", 64) or f"order:{_text(payload, 'order_id', 64)}",
        status,
        _text(payload, "fraud_status", 16),
        _text(payload, "status_code", 8),
        f"{amount:.2f}" if amount is not None else _text(payload, "gross_amount", 32),
    ]
    if status in REFUND_LIKE_STATUSES:
        refunds = payload.get("refunds")
        parts += [
            str(payload.get("refund_amount", ""))[:32],
            str(len(refunds)) if isinstance(refunds, list) else "",
        ]
    key = ":".join(parts)
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _amount_matches(*, payload: Mapping[str, Any], attempt: PaymentAttempt) -> bool:
    """`gross_amount` as a decimal equals the attempt amount exactly, in IDR (when stated)."""
    currency = payload.get("currency")
    if currency is not None and currency != "IDR":
        return False
    amount = _amount(payload.get("gross_amount"))
    return amount is not None and amount == attempt.amount


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# --- Writes --------------------------------------------------------------------------------


def _event_store(
    *,
    payload: Mapping[str, Any],
    key: str,
    source: str,
    attempt: PaymentAttempt | None,
    remote_ip: str | None,
) -> PaymentEvent | None:
    """Insert the event under its idempotency key; None when it already exists. The insert
    runs in a savepoint so a duplicate does not poison the caller's transaction. On
    PostgreSQL a concurrent insert of the same key waits for the first transaction, so a
    duplicate is only reported after the original committed."""
    try:
        with transaction.atomic():
            return PaymentEvent.objects.create(
                idempotency_key=key,
                source=source,
                attempt=attempt,
                order_id=attempt.order_id if attempt else None,
                midtrans_order_id=_text(payload, "order_id", 64),
                transaction_id=_text(payload, "transaction_id", 64),
                transaction_status=_text(payload, "transaction_status", 32),
                status_code=_text(payload, "status_code", 8),
                fraud_status=_text(payload, "fraud_status", 16),
                payment_type=_text(payload, "payment_type", 32),
                gross_amount=_text(payload, "gross_amount", 32),
                # Never keep a secret-derived value.
                raw_payload={k: v for k, v in payload.items() if k != "signature_key"},
                signature_valid=True,
                remote_ip=_valid_ip(remote_ip),
            )
    except IntegrityError:
        if PaymentEvent.objects.filter(idempotency_key=key).exists():
            return None
        raise


def _attempt_record(
    *, attempt: PaymentAttempt, payload: Mapping[str, Any], status: str, now: datetime
) -> None:
    """Write what Midtrans told us onto the attempt, and its new status. Callers decide
    whether the move is allowed (a COMPLETED attempt never goes back)."""
    attempt.status = status
    if status == AttemptStatus.COMPLETED and attempt.completed_at is None:
        attempt.completed_at = now
    attempt.midtrans_transaction_id = (
        _text(payload, "transaction_id", 64) or attempt.midtrans_transaction_id
    )
    attempt.transaction_status = _text(payload, "transaction_status", 32)
    attempt.fraud_status = _text(payload, "fraud_status", 16)
    attempt.payment_type = _text(payload, "payment_type", 32) or attempt.payment_type

    va_numbers = payload.get("va_numbers")
    if isinstance(va_numbers, list) and va_numbers and isinstance(va_numbers[0], Mapping):
        attempt.va_number = _text(va_numbers[0], "va_number", 64) or attempt.va_number
        attempt.bank = _text(va_numbers[0], "bank", 32) or attempt.bank
    elif permata := _text(payload, "permata_va_number", 64):
        attempt.va_number, attempt.bank = permata, "permata"
    attempt.bill_key = _text(payload, "bill_key", 64) or attempt.bill_key
    attempt.biller_code = _text(payload, "biller_code", 32) or attempt.biller_code
    details = {name: payload[name] for name in _DETAIL_FIELDS if name in payload}
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

    def transition(self, to_status: str, reason: str) -> str:
        result = order_transition(
            order_id=self.order.order_id,
            to_status=to_status,
            actor=self.actor,
            reason=reason,
            payment_event=self.event if to_status in (S.PAID, S.REFUNDED) else None,
            now=self.now,
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
        # transaction exists, so the order was in fact waiting for payment.
        ctx.transition(S.PENDING_PAYMENT, "Transaksi Midtrans sudah dibuat")
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
    _attempt_record(
        attempt=ctx.attempt, payload=ctx.payload, status=AttemptStatus.PENDING, now=ctx.now
    )
    if ctx.order.status in (S.PAID, S.REFUNDED):
        _audit_ignored(order=ctx.order, event=ctx.event, actor=ctx.actor)
        return _ignored_for(ctx.order)
    return Outcome.PENDING_RECORDED


def _apply_closed(ctx: _Context, status: str) -> Outcome:
    """deny/failure: only the attempt fails (UC-006, the customer may try again);
    cancel: the order FAILS unless another attempt is live;
    expire: the order EXPIRES when its own time is up and no other attempt is live."""
    if ctx.attempt.status == AttemptStatus.COMPLETED:
        return _apply_stale(ctx)
    _attempt_record(
        attempt=ctx.attempt, payload=ctx.payload, status=AttemptStatus.FAILED, now=ctx.now
    )
    if ctx.order.status in (S.PAID, S.REFUNDED):
        _audit_ignored(order=ctx.order, event=ctx.event, actor=ctx.actor)
        return _ignored_for(ctx.order)
    if status not in ("cancel", "expire") or ctx.order.status != S.PENDING_PAYMENT:
        return Outcome.ATTEMPT_FAILED
    if order_has_other_live_attempt(order_id=ctx.order.order_id, exclude_attempt_id=ctx.attempt.pk):
        return Outcome.ATTEMPT_FAILED
    if status == "cancel":
        ctx.transition(S.FAILED, "Pembayaran dibatalkan")
        return Outcome.ORDER_FAILED
    if ctx.now < ctx.order.expires_at:
        # Midtrans expired the transaction before our order's time is up: the customer may
        # still start a new attempt; the expiry job closes the order at `expires_at`.
        return Outcome.ATTEMPT_FAILED
    ctx.transition(S.EXPIRED, "Batas waktu pembayaran habis")
    return Outcome.ORDER_EXPIRED


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
    if not _amount_matches(payload=ctx.payload, attempt=ctx.attempt):
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
    if status in MONEY_STATUSES and ctx.event.status_code != "200":
        _alert(
            key=f"status_code_mismatch:event:{ctx.event.pk}",
            subject=f"Notifikasi janggal: {ctx.order.order_id}",
            message=(
                f"Midtrans '{status}' dengan status_code {ctx.event.status_code!r} untuk "
                f"{ctx.attempt.midtrans_order_id}: tidak diterapkan. Cek di dashboard Midtrans."
            ),
            order=ctx.order,
        )
        return Outcome.STATUS_CODE_MISMATCH
    if transaction_is_paid(transaction_status=status, fraud_status=fraud):
        return _apply_paid(ctx)
    if status == "capture" and fraud == "challenge":
        return _apply_challenge(ctx)
    if status == "capture" and fraud == "deny":
        return _apply_closed(ctx, "deny")
    if status == "pending":
        return _apply_pending(ctx)
    if status in CLOSED_ATTEMPT_STATUSES:
        return _apply_closed(ctx, status)
    if status == "refund":
        return _apply_refund(ctx)
    if status in OPS_ONLY_STATUSES:
        return _apply_ops_only(ctx, status)
    logger.warning("midtrans status %r (fraud %r) not handled; stored only", status, fraud)
    return Outcome.IGNORED_UNKNOWN_STATUS


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
    midtrans_order_id = notification_signature_verify(payload=payload)
    actor = actor or (
        SYSTEM_RECONCILIATION if source == EventSource.RECONCILIATION else SYSTEM_WEBHOOK
    )
    now = now or timezone.now()
    key = notification_idempotency_key(payload=payload)

    found = (
        PaymentAttempt.objects.filter(midtrans_order_id=midtrans_order_id)
        .values_list("pk", "order_id")
        .first()
    )
    with correlate(found[1] if found else "-"), transaction.atomic():
        if found is None:
            event = _event_store(
                payload=payload, key=key, source=source, attempt=None, remote_ip=remote_ip
            )
            if event is not None:
                event.processed, event.processed_at = True, now
                event.outcome = Outcome.UNKNOWN_ORDER
                event.save(update_fields=["processed", "processed_at", "outcome"])
            logger.warning("notification for unknown midtrans order id %s", midtrans_order_id)
            return NotificationOutcome(
                outcome=Outcome.UNKNOWN_ORDER if event else Outcome.DUPLICATE,
                midtrans_order_id=midtrans_order_id,
                event_id=event.pk if event else None,
            )
        attempt_id, order_id = found
        # The order row lock serialises every event of the order (webhook and reconciliation);
        # everything read after it is current.
        order = Order.objects.select_for_update().get(pk=order_id)
        attempt = PaymentAttempt.objects.get(pk=attempt_id)
        event = _event_store(
            payload=payload, key=key, source=source, attempt=attempt, remote_ip=remote_ip
        )
        if event is None:
            logger.info("duplicate notification %s ignored", key)
            return NotificationOutcome(
                outcome=Outcome.DUPLICATE,
                midtrans_order_id=midtrans_order_id,
                order_id=order_id,
                order_status=order.status,
            )
        ctx = _Context(
            event=event, attempt=attempt, order=order, payload=payload, actor=actor, now=now
        )
        outcome = _event_apply(ctx)
        if source == EventSource.RECONCILIATION and outcome in ORDER_CHANGING_OUTCOMES:
            # Midtrans knew something our webhook never told us: the notification was lost
            # (or is late). The order is fixed now; ops should know the webhook path leaks.
            _alert(
                key=f"reconciliation_discrepancy:event:{event.pk}",
                subject=f"Rekonsiliasi mengubah order {order_id}",
                message=(
                    f"Midtrans melaporkan '{event.transaction_status}' untuk {midtrans_order_id}, "
                    f"tetapi webhook-nya tidak pernah kami terima. Order kini {ctx.order.status} "
                    f"({outcome}). Periksa pengiriman notifikasi Midtrans ke situs."
                ),
                order=ctx.order,
            )
        event.processed, event.processed_at, event.outcome = True, now, outcome
        event.save(update_fields=["processed", "processed_at", "outcome"])
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
        order_id=order_id,
        event_id=event.pk,
        order_status=ctx.order.status,
    )


# --- Reconciliation: ask Midtrans, feed the answer through the same path --------------------

NOT_STARTED = "not_started"
ERROR = "error"


@dataclass(frozen=True)
class AttemptReconciliation:
    """What reconciling one attempt found: `result` is NOT_STARTED (Midtrans 404: the customer
    never picked a method), ERROR (Midtrans unreachable or refused; `detail` says why), or the
    `Outcome` of processing Midtrans' answer."""

    order_id: str
    midtrans_order_id: str
    result: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.result == ERROR

    @property
    def changed(self) -> bool:
        return self.result not in (NOT_STARTED, ERROR, Outcome.DUPLICATE)


def payment_reconcile_order(*, order_id: str, actor: str) -> list[AttemptReconciliation]:
    """Ask Midtrans for the status of every attempt of the order that reached Snap, and feed
    each answer through `payment_notification_process` as a `reconciliation` event (same
    signature check, same idempotency key, same state machine as the webhook: a fact the webhook
    already delivered is a no-op). The HTTP calls happen outside any transaction; each answer
    is applied in its own.

    One attempt's Midtrans failure (unreachable, 4xx, bad signature) is recorded as an ERROR
    result and does not stop the others. Raises `Order.DoesNotExist` for an unknown order id.
    """
    from payments.midtrans import MidtransError, get_gateway

    if not Order.objects.filter(pk=order_id).exists():
        raise Order.DoesNotExist(f"order {order_id} does not exist")
    attempts = list(
        PaymentAttempt.objects.filter(order_id=order_id)
        .exclude(snap_token="")
        .order_by("sequence")
        .values_list("midtrans_order_id", flat=True)
    )
    gateway = get_gateway()
    results: list[AttemptReconciliation] = []
    with correlate(order_id):
        for midtrans_order_id in attempts:
            try:
                answer = gateway.get_status(midtrans_order_id)
            except MidtransError as exc:
                logger.warning("reconcile %s: %s", midtrans_order_id, exc)
                results.append(
                    AttemptReconciliation(order_id, midtrans_order_id, ERROR, str(exc)[:300])
                )
                continue
            if answer is None:
                results.append(AttemptReconciliation(order_id, midtrans_order_id, NOT_STARTED))
                continue
            if answer.get("order_id") != midtrans_order_id:
                detail = "Midtrans answered for another order id"
                logger.error("reconcile %s: %s", midtrans_order_id, detail)
                results.append(AttemptReconciliation(order_id, midtrans_order_id, ERROR, detail))
                continue
            try:
                outcome = payment_notification_process(
                    payload=answer, source=EventSource.RECONCILIATION, remote_ip=None, actor=actor
                )
            except NotificationRejected as exc:
                # Our own authenticated call came back unsigned or signed with another key:
                # a configuration problem (wrong server key / base URL), never applied.
                logger.error("reconcile %s: status answer rejected (%s)", midtrans_order_id, exc)
                results.append(
                    AttemptReconciliation(order_id, midtrans_order_id, ERROR, exc.reason)
                )
                continue
            results.append(AttemptReconciliation(order_id, midtrans_order_id, outcome.outcome))
    return results


@dataclass
class ReconcileSummary:
    orders: int = 0
    attempts: list[AttemptReconciliation] = field(default_factory=list)
    failed_orders: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.attempts) + len(self.failed_orders)

    def line(self) -> str:
        """One line for logs and the command: counts per result, failures last."""
        counts = Counter(r.result for r in self.attempts)
        parts = [f"{count} {result}" for result, count in sorted(counts.items())]
        return (
            f"reconcile_payments: {self.orders} order(s), {len(self.attempts)} attempt(s)"
            + (f": {', '.join(parts)}" if parts else "")
            + f"; {self.failed} failed"
        )


def payment_reconcile_due(
    *,
    actor: str = SYSTEM_RECONCILIATION,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReconcileSummary:
    """The scheduled job (Celery task and `manage.py reconcile_payments`): reconcile the orders
    `payments.selectors.orders_to_reconcile` picks (PENDING_PAYMENT older than
    RECONCILE_AFTER_MINUTES, EXPIRED/FAILED changed in the last RECONCILE_RECENT_HOURS), at
    most RECONCILE_BATCH_SIZE per run. A failure on one order is logged and counted; the batch
    goes on. Safe to overlap with itself and with the webhook (idempotency key + row lock)."""
    from payments.selectors import orders_to_reconcile

    order_ids = orders_to_reconcile(
        now=now or timezone.now(),
        pending_after_minutes=settings.RECONCILE_AFTER_MINUTES,
        recent_hours=settings.RECONCILE_RECENT_HOURS,
        limit=settings.RECONCILE_BATCH_SIZE,
    )
    summary = ReconcileSummary(orders=len(order_ids))
    for position, order_id in enumerate(order_ids, start=1):
        if progress and position % 50 == 0:
            progress(position, len(order_ids))
        try:
            summary.attempts.extend(payment_reconcile_order(order_id=order_id, actor=actor))
        except Exception:
            logger.exception("reconcile %s failed; continuing with the batch", order_id)
            summary.failed_orders.append(order_id)
    logger.info(summary.line())
    return summary


# --- Expiry at Midtrans: after the scheduler expired an order -------------------------------


@dataclass(frozen=True)
class MidtransExpiry:
    expired: list[str] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    already_final: list[str] = field(default_factory=list)


def payment_expire_at_midtrans(*, order_id: str) -> MidtransExpiry:
    """Ask Midtrans to expire every live attempt of an EXPIRED order, so the customer can no
    longer pay a transaction we consider dead. 407 (expired now) and 404 (the customer never
    picked a method) are both fine. 412 means Midtrans already closed it; if the transaction
    settled meanwhile, reconciliation feeds the settlement through the processing path and the
    order becomes PAID as a late payment. Raises `MidtransUnavailable` so the task retries.
    Calls Midtrans outside any transaction; does nothing for an order that is not EXPIRED."""
    from payments.midtrans import MidtransRejected, get_gateway
    from payments.selectors import attempt_is_live

    result = MidtransExpiry()
    if not Order.objects.filter(pk=order_id, status=OrderStatus.EXPIRED).exists():
        return result
    attempts = [
        a
        for a in PaymentAttempt.objects.filter(order_id=order_id).exclude(snap_token="")
        if attempt_is_live(a)
    ]
    gateway = get_gateway()
    with correlate(order_id):
        for attempt in attempts:
            try:
                gateway.expire(attempt.midtrans_order_id)
            except MidtransRejected as exc:
                if exc.http_status == 404:
                    result.not_started.append(attempt.midtrans_order_id)
                    continue
                if exc.http_status == 412:
                    result.already_final.append(attempt.midtrans_order_id)
                    continue
                raise
            result.expired.append(attempt.midtrans_order_id)
    if result.already_final:
        payment_reconcile_order(order_id=order_id, actor=SYSTEM_RECONCILIATION)
    return result
