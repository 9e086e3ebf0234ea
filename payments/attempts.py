"""Starting a payment: one `PaymentAttempt` = one Snap transaction for an order.

The Snap call is outbound HTTP, so it never runs inside a database transaction: the attempt
is created and committed first (under the order row lock, which also serialises two
concurrent starts), Midtrans is called with no transaction open, and the answer is stored in a
second short transaction that also moves a CREATED order to PENDING_PAYMENT.

If Midtrans stays unreachable the attempt is FAILED with the reason, the order keeps its
status (a CREATED order stays CREATED and can be retried until `expires_at`) and the caller
gets `PaymentUnavailable`. Each retry is a new attempt with a new Midtrans order id, because
Midtrans may have created the earlier one and refuses a reused id (406).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from buatfilm.formatting import WIB
from buatfilm.logging import correlate
from orders.checkout import checkout_create_order
from orders.models import Order, OrderStatus, PaymentMethod
from orders.selectors import order_status_url
from orders.services import order_for_transition, order_transition
from payments.midtrans import MidtransRejected, MidtransUnavailable, get_gateway
from payments.models import AttemptStatus, PaymentAttempt
from payments.selectors import IN_FLIGHT_GRACE as IN_FLIGHT_GRACE  # re-exported
from payments.selectors import attempt_is_stuck
from supportdesk.audit import SYSTEM_CHECKOUT, audit_record

logger = logging.getLogger(__name__)

SNAP_ITEM_NAME_MAX = 50
PAYABLE_STATUSES = frozenset({OrderStatus.CREATED, OrderStatus.PENDING_PAYMENT})


class PaymentStartError(Exception):
    """No new Snap transaction was stored; `message` is for the customer."""

    def __init__(self, message: str, *, order: Order) -> None:
        super().__init__(message)
        self.message = message
        self.order = order


class PaymentNotAllowed(PaymentStartError):
    """The order cannot be paid any more (PAID/EXPIRED/FAILED/REFUNDED or past expires_at)."""


class PaymentTooLate(PaymentNotAllowed):
    """Less than SNAP_MIN_EXPIRY_MINUTES left before `expires_at`: Snap refuses a session that
    short (https://docs.midtrans.com/reference/expire-a-snap-session) and a VA transfer could
    not clear in time. The customer should start a new order (prefilled)."""


class PaymentAlreadyStarted(PaymentStartError):
    """A live Snap transaction exists: send the customer to `redirect_url` instead."""

    def __init__(self, message: str, *, order: Order, attempt: PaymentAttempt) -> None:
        super().__init__(message, order=order)
        self.attempt = attempt
        self.redirect_url = attempt.redirect_url


class PaymentInProgress(PaymentStartError):
    """Another request is creating the Snap transaction for this order right now."""


class PaymentUnavailable(PaymentStartError):
    """Midtrans could not be reached; the attempt is FAILED, the order unchanged, retryable."""

    def __init__(self, message: str, *, order: Order, attempt: PaymentAttempt) -> None:
        super().__init__(message, order=order)
        self.attempt = attempt


class PaymentRejected(PaymentStartError):
    """Midtrans refused the request (4xx); retrying it unchanged will not help."""

    def __init__(self, message: str, *, order: Order, attempt: PaymentAttempt) -> None:
        super().__init__(message, order=order)
        self.attempt = attempt


MESSAGE_EXPIRED = "Waktu pembayaran pesanan ini sudah habis. Silakan buat pesanan baru."
MESSAGE_NOT_PAYABLE = {
    OrderStatus.PAID: "Pesanan ini sudah lunas. Terima kasih!",
    OrderStatus.EXPIRED: MESSAGE_EXPIRED,
    OrderStatus.FAILED: "Pesanan ini sudah dibatalkan. Silakan buat pesanan baru.",
    OrderStatus.REFUNDED: "Pembayaran pesanan ini sudah dikembalikan.",
}
MESSAGE_TOO_LATE = (
    "Sisa waktu pembayaran pesanan ini kurang dari {minutes} menit, terlalu singkat untuk "
    "menyelesaikan pembayaran. Silakan buat pesanan baru; data yang kamu isi sudah kami siapkan."
)
MESSAGE_UNAVAILABLE = (
    "Pembayaran belum bisa dibuat karena layanan pembayaran sedang tidak merespons. "
    "Pesananmu aman tersimpan; silakan coba lagi sebentar lagi."
)
MESSAGE_REJECTED = (
    "Layanan pembayaran menolak membuat tagihan untuk pesanan ini. Tim kami sudah dicatat "
    "tentang masalah ini; hubungi kami lewat WhatsApp agar bisa dibantu."
)


def snap_expiry_minutes(*, order: Order, now: datetime) -> int:
    """Whole minutes left until `order.expires_at`, rounded down so Midtrans never accepts a
    payment after the site has expired the order. 0 = too late to start a payment."""
    return max(0, int((order.expires_at - now).total_seconds() // 60))


def snap_transaction_params(
    *, order: Order, attempt: PaymentAttempt, now: datetime
) -> dict[str, Any]:
    """The Snap create-transaction body for an attempt.

    One item line at the order's final (already discounted) amount, so the item sum equals
    `gross_amount` by construction; `enabled_payments` is the method the customer chose; the
    expiry starts now (explicit `start_time`, otherwise Midtrans starts the clock when the
    customer picks a method) and ends with the order; `callbacks.finish` is the status page."""
    item_name = order.package_name
    if order.discount_code:
        item_name = f"{item_name} (promo {order.discount_code})"
    return {
        "transaction_details": {
            "order_id": attempt.midtrans_order_id,
            "gross_amount": attempt.amount,
        },
        "item_details": [
            {
                "id": order.package_code[:50],
                "price": attempt.amount,
                "quantity": 1,
                "name": item_name[:SNAP_ITEM_NAME_MAX],
            }
        ],
        "customer_details": {
            "first_name": order.customer_name,
            "email": order.customer_email,
            "phone": order.customer_phone,
        },
        "enabled_payments": [attempt.payment_method],
        "expiry": {
            "start_time": now.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S +0700"),
            "unit": "minute",
            "duration": max(1, snap_expiry_minutes(order=order, now=now)),
        },
        "callbacks": {"finish": order_status_url(order)},
        **_app_return_callbacks(order=order, payment_method=attempt.payment_method),
    }


def _app_return_callbacks(*, order: Order, payment_method: str) -> dict[str, Any]:
    """Where the GoPay / DANA app sends an app-to-app payer back: the order's status page
    (https://docs.midtrans.com/reference/dana, https://docs.midtrans.com/docs/snap-advanced-feature)."""
    if payment_method == "gopay":
        return {"gopay": {"enable_callback": True, "callback_url": order_status_url(order)}}
    if payment_method == "dana":
        return {"dana": {"callback_url": order_status_url(order)}}
    return {}


def _too_late(*, order: Order, now: datetime) -> bool:
    return snap_expiry_minutes(order=order, now=now) < settings.SNAP_MIN_EXPIRY_MINUTES


def _too_late_error(order: Order) -> PaymentTooLate:
    return PaymentTooLate(
        MESSAGE_TOO_LATE.format(minutes=settings.SNAP_MIN_EXPIRY_MINUTES), order=order
    )


def checkout_order_create(**order_fields: Any) -> tuple[Order, PaymentAttempt | None]:
    """`orders.checkout.checkout_create_order(**order_fields)` with attempt 1 recorded in the new
    order's own transaction (nobody can see the order yet: no lock, nothing to read). Returns
    the order and that CREATED attempt for `attempt_start(..., recorded=...)`, or None when the
    idempotency key returned an order that existed. Raises what `checkout_create_order` does."""
    recorded: list[PaymentAttempt] = []

    def record_first(order: Order) -> None:
        recorded.append(_attempt_record(order=order, sequence=1))

    order = checkout_create_order(**order_fields, on_insert=record_first)
    return order, (recorded[-1] if recorded else None)


def attempt_start(
    *,
    order_id: str,
    payment_method: str = "",
    now: datetime | None = None,
    recorded: PaymentAttempt | None = None,
) -> PaymentAttempt:
    """Create the next payment attempt of an order and its Snap transaction.

    `payment_method` (a `PaymentMethod` value) switches the order to another method for this
    and later attempts (retry with any method); empty keeps the order's current one. Snap's
    `enabled_payments` is exactly the attempt's method.

    Guarantees: at most one attempt of an order talks to Snap at a time (order row lock);
    the attempt is committed before Midtrans is called and no transaction is open during the
    call; on success the attempt is PENDING with its token and redirect_url, and a CREATED
    order moved to PENDING_PAYMENT (which queues the payment instructions) in one transaction.
    A PENDING_PAYMENT order whose last attempt failed (UC-006) stays PENDING_PAYMENT and gets a
    Snap expiry of the time it has left.

    Raises `Order.DoesNotExist`; `PaymentNotAllowed` (not payable, or less than a minute
    before `expires_at`); `PaymentTooLate` (less than SNAP_MIN_EXPIRY_MINUTES left);
    `PaymentAlreadyStarted` (a live Snap transaction exists: use its `redirect_url`);
    `PaymentInProgress` (another start is calling Snap); after the attempt was recorded as
    FAILED: `PaymentUnavailable` (Midtrans unreachable, retryable) or `PaymentRejected`
    (Midtrans said 4xx).

    `recorded`: the CREATED attempt 1 that `checkout_order_create` committed with the order; Snap is
    called for it instead of creating another."""
    with correlate(order_id):
        attempt = recorded or _attempt_create(
            order_id=order_id, payment_method=payment_method, now=now or timezone.now()
        )
        # Recompute "now" after the lock wait so the expiry start is when we call Snap.
        call_time = timezone.now() if now is None else now
        if _too_late(order=attempt.order, now=call_time):
            _attempt_fail(attempt=attempt, error="too late for a Snap session")
            raise _too_late_error(attempt.order)
        params = snap_transaction_params(order=attempt.order, attempt=attempt, now=call_time)
        try:
            answer = get_gateway().create_snap_transaction(params)
        except MidtransUnavailable as exc:
            _attempt_fail(attempt=attempt, error=str(exc), action="payment_attempt_unavailable")
            raise PaymentUnavailable(
                MESSAGE_UNAVAILABLE, order=attempt.order, attempt=attempt
            ) from exc
        except MidtransRejected as exc:
            error = f"HTTP {exc.http_status}: {'; '.join(exc.messages)}"
            _attempt_fail(attempt=attempt, error=error, action="payment_attempt_rejected")
            raise PaymentRejected(MESSAGE_REJECTED, order=attempt.order, attempt=attempt) from exc
        attempt = _attempt_store_snap(attempt=attempt, answer=answer)
        if attempt.order.status != OrderStatus.PENDING_PAYMENT:
            # Expired/failed/paid while we waited for Midtrans: the token is kept (Midtrans
            # has the transaction; a late payment is still recognised), nobody is sent there.
            logger.warning("snap created for a %s order", attempt.order.status)
            raise PaymentNotAllowed(
                MESSAGE_NOT_PAYABLE[OrderStatus(attempt.order.status)], order=attempt.order
            )
        return attempt


@transaction.atomic
def _attempt_create(*, order_id: str, payment_method: str, now: datetime) -> PaymentAttempt:
    if payment_method and payment_method not in PaymentMethod.values:
        raise ValueError(f"unknown payment method {payment_method!r}")
    order = Order.objects.select_for_update().get(order_id=order_id)
    if order.status not in PAYABLE_STATUSES:
        raise PaymentNotAllowed(MESSAGE_NOT_PAYABLE[OrderStatus(order.status)], order=order)
    if snap_expiry_minutes(order=order, now=now) < 1:
        raise PaymentNotAllowed(MESSAGE_EXPIRED, order=order)
    if _too_late(order=order, now=now):
        raise _too_late_error(order)
    latest = order.attempts.order_by("-sequence").first()
    if latest is not None and latest.status == AttemptStatus.PENDING and latest.redirect_url:
        raise PaymentAlreadyStarted(
            "Pembayaran untuk pesanan ini sudah dibuat.", order=order, attempt=latest
        )
    if latest is not None and latest.status == AttemptStatus.CREATED:
        if not attempt_is_stuck(latest, now=now):
            raise PaymentInProgress("Pembayaran sedang disiapkan. Tunggu sebentar.", order=order)
        _attempt_fail(
            attempt=latest,
            error="abandoned: no Snap answer was recorded",
            action="payment_attempt_abandoned",
        )
    if payment_method and payment_method != order.payment_method:
        # The order shows and messages the method of its latest attempt.
        order.payment_method = payment_method
        order.save(update_fields=["payment_method", "updated_at"])
    return _attempt_record(order=order, sequence=latest.sequence + 1 if latest else 1)


def _attempt_record(*, order: Order, sequence: int) -> PaymentAttempt:
    attempt = PaymentAttempt.objects.create(
        order=order,
        sequence=sequence,
        midtrans_order_id=f"{order.order_id}-{sequence}",
        amount=order.final_amount,
        payment_method=order.payment_method,
        status=AttemptStatus.CREATED,
    )
    audit_record(
        actor=SYSTEM_CHECKOUT,
        action="payment_attempt_created",
        entity_type="payment_attempt",
        entity_id=attempt.midtrans_order_id,
        new_value={"sequence": sequence, "amount": attempt.amount, "method": order.payment_method},
        correlation_id=order.order_id,
    )
    return attempt


@transaction.atomic
def _attempt_fail(*, attempt: PaymentAttempt, error: str, action: str = "") -> None:
    attempt.status = AttemptStatus.FAILED
    attempt.snap_error = error[:2000]
    attempt.save(update_fields=["status", "snap_error", "updated_at"])
    logger.warning("payment attempt %s failed: %s", attempt.midtrans_order_id, error)
    if action:
        audit_record(
            actor=SYSTEM_CHECKOUT,
            action=action,
            entity_type="payment_attempt",
            entity_id=attempt.midtrans_order_id,
            new_value={"status": AttemptStatus.FAILED, "error": error[:500]},
            correlation_id=attempt.order_id,
        )


@transaction.atomic
def _attempt_store_snap(*, attempt: PaymentAttempt, answer: dict[str, Any]) -> PaymentAttempt:
    order = order_for_transition(order_id=attempt.order_id)
    # The redirect_url is saved before the transition: entering PENDING_PAYMENT freezes the
    # payment instructions (with this link) into the outbox rows.
    snap = {
        "snap_token": str(answer.get("token", ""))[:255],
        "redirect_url": str(answer.get("redirect_url", ""))[:500],
    }
    # Under the order lock (which every notification takes too): CREATED -> PENDING only if a
    # notification processed while Snap was answering did not complete or fail the attempt
    # meanwhile (that must not be overwritten). The usual case is one UPDATE, no re-read.
    still_created = PaymentAttempt.objects.filter(
        pk=attempt.pk, status=AttemptStatus.CREATED
    ).update(status=AttemptStatus.PENDING, updated_at=timezone.now(), **snap)
    if still_created:
        attempt.status = AttemptStatus.PENDING
        for field, value in snap.items():
            setattr(attempt, field, value)
    else:
        attempt = PaymentAttempt.objects.get(pk=attempt.pk)
        for field, value in snap.items():
            setattr(attempt, field, value)
        attempt.save(update_fields=[*snap, "updated_at"])
    attempt.order = order
    if order.status == OrderStatus.CREATED:
        order_transition(
            order_id=order.order_id,
            to_status=OrderStatus.PENDING_PAYMENT,
            actor=SYSTEM_CHECKOUT,
            reason=f"snap transaction {attempt.midtrans_order_id} created",
            locked_order=order,
            attempt=attempt,
        )
    logger.info("payment attempt %s pending", attempt.midtrans_order_id)
    return attempt
