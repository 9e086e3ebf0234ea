"""Reads and pure rules about Midtrans payments."""

from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, QuerySet

from buatfilm.db import serial_plan
from payments.models import AttemptStatus, EventSource, PaymentAttempt, PaymentEvent

SUCCESS_STATUSES = frozenset({"settlement", "capture"})

# An attempt still CREATED after this long lost its process mid-call: the Snap call itself ends
# by `settings.MIDTRANS_DEADLINE_SECONDS` (15 s), so after 60 s nothing can still be waiting
# for it. The status page then offers "coba lagi", a new start may replace it, and the
# `resolve_stuck_attempts` job settles it with Midtrans.
IN_FLIGHT_GRACE = timedelta(seconds=60)


def transaction_is_paid(*, transaction_status: str, fraud_status: str) -> bool:
    """Midtrans says the money is ours: `settlement`, or `capture` with fraud `accept`
    (a missing fraud_status on capture is treated as accept, as Midtrans documents for
    channels without fraud screening)."""
    if transaction_status == "settlement":
        return True
    return transaction_status == "capture" and fraud_status in ("accept", "")


def event_is_trusted(event: PaymentEvent) -> bool:
    """A webhook event counts only with a valid signature; a reconciliation event came from
    our own authenticated call to Midtrans."""
    return event.source == EventSource.RECONCILIATION or event.signature_valid


def event_confirms_payment(event: PaymentEvent) -> bool:
    """Only Midtrans can say "paid": an event a staff member recorded never confirms one."""
    return (
        event.source != EventSource.OFFLINE_REFUND
        and event_is_trusted(event)
        and transaction_is_paid(
            transaction_status=event.transaction_status, fraud_status=event.fraud_status
        )
    )


def event_confirms_refund(event: PaymentEvent) -> bool:
    """A trusted Midtrans refund, or an offline refund recorded by permitted staff
    (`payments.refunds.refund_record_offline`)."""
    trusted = event_is_trusted(event) or event.source == EventSource.OFFLINE_REFUND
    return trusted and event.transaction_status == "refund"


def attempt_is_live(attempt: PaymentAttempt) -> bool:
    """The customer can still pay this attempt: Midtrans has it open (PENDING), or checkout
    created it and has not given up on Snap yet (CREATED without a Snap error)."""
    if attempt.status == AttemptStatus.PENDING:
        return True
    return attempt.status == AttemptStatus.CREATED and not attempt.snap_error


def attempt_customer_details(attempt: PaymentAttempt | None) -> dict[str, str | None]:
    """How to pay the attempt (VA number, Mandiri bill key, QRIS string / QR image URL,
    e-wallet deep link), only while the attempt is live (PENDING): a failed or expired
    attempt's number is dead and must never be shown, sent or reminded. (Support still sees
    every attempt's details in the admin.)"""
    empty: dict[str, str | None] = {
        "va_number": None,
        "bank": None,
        "bill_key": None,
        "biller_code": None,
        "qr_string": None,
        "qr_url": None,
        "deeplink_url": None,
    }
    if attempt is None or attempt.status != AttemptStatus.PENDING:
        return empty
    details = attempt.payment_details if isinstance(attempt.payment_details, dict) else {}
    actions = {
        str(action.get("name", "")): str(action.get("url", ""))
        for action in details.get("actions") or []
        if isinstance(action, dict)
    }
    qr_string = details.get("qr_string")
    return {
        "va_number": attempt.va_number or None,
        "bank": attempt.bank or None,
        "bill_key": attempt.bill_key or None,
        "biller_code": attempt.biller_code or None,
        "qr_string": str(qr_string)[:1000] if qr_string else None,
        "qr_url": actions.get("generate-qr-code") or None,
        "deeplink_url": actions.get("deeplink-redirect") or None,
    }


def attempt_is_stuck(attempt: PaymentAttempt, *, now: datetime) -> bool:
    """CREATED with no Snap answer for longer than `IN_FLIGHT_GRACE`: its process died."""
    return (
        attempt.status == AttemptStatus.CREATED
        and not attempt.snap_token
        and now - attempt.created_at >= IN_FLIGHT_GRACE
    )


def attempts_stuck(
    *, now: datetime, grace: timedelta = IN_FLIGHT_GRACE
) -> QuerySet[PaymentAttempt]:
    """Stuck attempts (see `attempt_is_stuck`), oldest first."""
    return PaymentAttempt.objects.filter(
        status=AttemptStatus.CREATED, snap_token="", created_at__lte=now - grace
    ).order_by("created_at")


def order_has_other_live_attempt(*, order_id: str, exclude_attempt_id: int) -> bool:
    """Whether another attempt of the order can still be paid (so one attempt's cancel or
    expiry must not close the order)."""
    others = PaymentAttempt.objects.filter(order_id=order_id).exclude(pk=exclude_attempt_id)
    return any(attempt_is_live(attempt) for attempt in others)


def order_has_other_completed_attempt(*, order_id: str, exclude_attempt_id: int) -> bool:
    """Whether another attempt of the order was already paid (double payment / refund of the
    duplicate one)."""
    return (
        PaymentAttempt.objects.filter(order_id=order_id, status=AttemptStatus.COMPLETED)
        .exclude(pk=exclude_attempt_id)
        .exists()
    )


# Midtrans statuses after which a transaction never changes for us: not asked again.
FINAL_TRANSACTION_STATUSES = frozenset({"expire", "cancel", "deny", "failure"})
# Channels whose Core API calls (status, cancel, refund) take the transaction_id, not the
# order id, and which have no expire API: https://docs.midtrans.com/reference/dana
BY_TRANSACTION_ID_CHANNELS = frozenset({"dana"})


def attempt_by_transaction_id_only(attempt: PaymentAttempt) -> bool:
    return (
        attempt.payment_method in BY_TRANSACTION_ID_CHANNELS
        or attempt.payment_type in BY_TRANSACTION_ID_CHANNELS
    )


def attempt_midtrans_ref(attempt: PaymentAttempt) -> str | None:
    """The id to call Midtrans' Core API with for this attempt: the order id, or for DANA the
    transaction_id stored from its first notification (None while we do not know it)."""
    if attempt_by_transaction_id_only(attempt):
        return attempt.midtrans_transaction_id or None
    return attempt.midtrans_order_id


def attempts_to_ask() -> QuerySet[PaymentAttempt]:
    """Attempts reconciliation may still learn something about: they reached Snap, are not
    COMPLETED (their order is PAID) and Midtrans has not told us a final status."""
    return (
        PaymentAttempt.objects.exclude(snap_token="")
        .exclude(status=AttemptStatus.COMPLETED)
        .exclude(transaction_status__in=FINAL_TRANSACTION_STATUSES)
    )


def orders_to_reconcile(
    *,
    now: datetime,
    pending_after_minutes: int,
    recent_hours: int,
    pending_limit: int,
    recent_limit: int,
) -> list[str]:
    """Order ids worth asking Midtrans about: first PENDING_PAYMENT orders older than
    `pending_after_minutes` (a lost webhook: a customer waiting for access), at most
    `pending_limit`; then EXPIRED/FAILED orders changed in the last `recent_hours` (a late
    settlement), at most `recent_limit`. Each group has its own budget, so a pile of abandoned
    checkouts can never crowd out a pending order. Only orders with an attempt still worth
    asking (`attempts_to_ask`) count. Within a group, the order asked longest ago
    (`Order.last_reconciled_at`, never = first) comes first, then the oldest order: a rotation
    that asks every candidate within ceil(candidates / limit) runs. Both groups are a few
    days of orders whatever the history's size: read with a serial plan (`serial_plan`)."""
    from orders.models import Order, OrderStatus

    askable = attempts_to_ask().filter(order=OuterRef("pk"))
    candidates = Order.objects.filter(Exists(askable))
    rotation = (F("last_reconciled_at").asc(nulls_first=True), "created_at")
    pending = candidates.filter(
        status=OrderStatus.PENDING_PAYMENT,
        created_at__lte=now - timedelta(minutes=pending_after_minutes),
    ).order_by(*rotation)
    recent = candidates.filter(
        status__in=[OrderStatus.EXPIRED, OrderStatus.FAILED],
        updated_at__gte=now - timedelta(hours=recent_hours),
    ).order_by(*rotation)
    with serial_plan():
        return [
            *pending.values_list("order_id", flat=True)[:pending_limit],
            *recent.values_list("order_id", flat=True)[:recent_limit],
        ]
