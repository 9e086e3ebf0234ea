"""Reads and pure rules about Midtrans payments."""

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

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
    return event_is_trusted(event) and transaction_is_paid(
        transaction_status=event.transaction_status, fraud_status=event.fraud_status
    )


def event_confirms_refund(event: PaymentEvent) -> bool:
    return event_is_trusted(event) and event.transaction_status == "refund"


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


def orders_to_reconcile(
    *, now: datetime, pending_after_minutes: int, recent_hours: int, limit: int
) -> list[str]:
    """Order ids worth asking Midtrans about, oldest first, at most `limit`: orders still
    PENDING_PAYMENT after `pending_after_minutes` (a lost webhook), and EXPIRED/FAILED orders
    changed in the last `recent_hours` (a late settlement). Only orders with an attempt that
    reached Snap (has a token) can have a Midtrans transaction."""
    from orders.models import Order, OrderStatus

    reached_snap = PaymentAttempt.objects.filter(order=OuterRef("pk")).exclude(snap_token="")
    due = Q(
        status=OrderStatus.PENDING_PAYMENT,
        created_at__lte=now - timedelta(minutes=pending_after_minutes),
    ) | Q(
        status__in=[OrderStatus.EXPIRED, OrderStatus.FAILED],
        updated_at__gte=now - timedelta(hours=recent_hours),
    )
    return list(
        Order.objects.filter(due)
        .filter(Exists(reached_snap))
        .order_by("created_at")
        .values_list("order_id", flat=True)[:limit]
    )
