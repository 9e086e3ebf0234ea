"""The order state machine. `order_transition` is the only code that writes `Order.status`.

It locks the order row, checks the move against `ALLOWED_TRANSITIONS` and the move's guard,
stamps the timestamps, writes an audit row, and performs the side effects of entering the new
state in the same transaction, so money, access and messages can never disagree.
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from buatfilm.logging import correlate
from courses import services as course_services
from courses.models import Package
from notifications import services as notification_services
from notifications.models import Template
from orders.models import Order, OrderStatus, PromoCode
from payments.models import PaymentEvent
from payments.selectors import event_confirms_payment, event_confirms_refund
from supportdesk.audit import SYSTEM_CHECKOUT, SYSTEM_SCHEDULER, audit_record

logger = logging.getLogger(__name__)

S = OrderStatus
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.PENDING_PAYMENT, S.FAILED}),
    S.PENDING_PAYMENT: frozenset({S.PAID, S.EXPIRED, S.FAILED}),
    # A settlement that arrives late: the money was taken, so access is granted (audited).
    S.EXPIRED: frozenset({S.PAID}),
    S.FAILED: frozenset({S.PAID}),
    S.PAID: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

_ORDER_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone


class OrderTransitionError(Exception):
    """Base class: the transition did not happen and nothing was written."""


class IllegalTransition(OrderTransitionError):
    """The state machine has no such move (e.g. PAID -> EXPIRED, or PAID -> PAID)."""


class TransitionGuardFailed(OrderTransitionError):
    """The move exists but its condition does not hold (e.g. EXPIRED before `expires_at`, or PAID
    without a verified payment event)."""


@dataclass(frozen=True)
class Transition:
    order: Order
    from_status: str
    to_status: str


def generate_order_id(now: datetime | None = None) -> str:
    """Human-readable and unguessable enough to be no secret: `BF-20261123-7KQ2XM`. Uniqueness is
    the primary key's job; callers retry on a collision."""
    day = timezone.localtime(now or timezone.now()).strftime("%Y%m%d")
    suffix = "".join(secrets.choice(_ORDER_ID_ALPHABET) for _ in range(6))
    return f"BF-{day}-{suffix}"


def _check_guard(
    *, order: Order, to_status: str, payment_event: PaymentEvent | None, now: datetime
) -> None:
    if to_status in (S.PAID, S.REFUNDED):
        confirms = event_confirms_payment if to_status == S.PAID else event_confirms_refund
        if payment_event is None or payment_event.order_id != order.order_id:
            raise TransitionGuardFailed(f"{to_status} needs a verified payment event")
        if not confirms(payment_event):
            raise TransitionGuardFailed(
                f"event {payment_event.pk} ({payment_event.transaction_status}) "
                f"does not confirm {to_status}"
            )
    if to_status == S.EXPIRED and now < order.expires_at:
        raise TransitionGuardFailed("an order expires only at or after expires_at")


def _enter_state(*, order: Order, from_status: str, actor: str, reason: str, now: datetime) -> None:
    """Side effects of entering `order.status`; runs inside the transition's transaction."""
    if order.status == S.PENDING_PAYMENT:
        notification_services.outbox_enqueue_for_order(
            order=order, template=Template.PAYMENT_INSTRUCTION
        )
    elif order.status == S.PAID:
        course_services.entitlement_grant(order=order, actor=actor, now=now)
        notification_services.outbox_enqueue_for_order(
            order=order,
            template=Template.PAYMENT_SUCCESS_ACCESS,
            extra_context=course_services.access_message_context(order=order),
        )
        if from_status in (S.EXPIRED, S.FAILED):
            audit_record(
                actor=actor,
                action="late_payment",
                entity_type="order",
                entity_id=order.order_id,
                old_value={"status": from_status},
                new_value={"status": order.status},
                correlation_id=order.order_id,
            )
            notification_services.ops_alert_enqueue(
                dedupe_key=f"late_payment:{order.order_id}",
                subject=f"Pembayaran terlambat: {order.order_id}",
                message=(
                    f"Order {order.order_id} sudah {from_status} tetapi Midtrans mengonfirmasi "
                    "pembayaran. Akses kursus diberikan otomatis; periksa apakah perlu tindakan."
                ),
                order=order,
            )
    elif order.status == S.EXPIRED:
        notification_services.outbox_enqueue_for_order(order=order, template=Template.ORDER_EXPIRED)
    elif order.status == S.FAILED and from_status == S.PENDING_PAYMENT:
        notification_services.outbox_enqueue_for_order(
            order=order,
            template=Template.PAYMENT_FAILED,
            extra_context={"reason": reason},
        )
    elif order.status == S.REFUNDED:
        course_services.entitlement_revoke(order=order, actor=actor, reason=reason, now=now)


_TIMESTAMP_FIELD: dict[str, str] = {
    S.PAID: "paid_at",
    S.FAILED: "failed_at",
    S.EXPIRED: "expired_at",
    S.REFUNDED: "refunded_at",
}


@transaction.atomic
def order_transition(
    *,
    order_id: str,
    to_status: str,
    actor: str,
    reason: str = "",
    payment_event: PaymentEvent | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> Transition:
    """Move an order to `to_status`: the one writer of `Order.status`.

    Guarantees: the order row is locked for the whole transaction; the move is in
    `ALLOWED_TRANSITIONS` and its guard holds; status, timestamp, audit row and the entry side
    effects (entitlement, outbox rows) commit together or not at all.

    Raises `Order.DoesNotExist`, `IllegalTransition` (no such move, including to the same
    status) or `TransitionGuardFailed` (PAID/REFUNDED without a confirming verified payment
    event, EXPIRED before `expires_at`). On any error nothing is written.
    """
    now = now or timezone.now()
    with correlate(order_id):
        order = (
            Order.objects.select_for_update()
            .select_related("package__course")
            .get(order_id=order_id)
        )
        from_status = order.status
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise IllegalTransition(f"{order_id}: {from_status} -> {to_status} is not allowed")
        _check_guard(order=order, to_status=to_status, payment_event=payment_event, now=now)

        order.status = to_status
        order.status_reason = reason[:255]
        update_fields = ["status", "status_reason", "updated_at"]
        if stamp := _TIMESTAMP_FIELD.get(to_status):
            setattr(order, stamp, now)
            update_fields.append(stamp)
        order.save(update_fields=update_fields)

        new_value: dict[str, str | int] = {"status": to_status}
        if reason:
            new_value["reason"] = reason
        if payment_event is not None:
            new_value["payment_event"] = payment_event.pk
        audit_record(
            actor=actor,
            action="order_status_changed",
            entity_type="order",
            entity_id=order_id,
            old_value={"status": from_status},
            new_value=new_value,
            correlation_id=order_id,
            ip_address=ip_address,
        )
        _enter_state(order=order, from_status=from_status, actor=actor, reason=reason, now=now)
        logger.info("order %s: %s -> %s by %s", order_id, from_status, to_status, actor)
    return Transition(order=order, from_status=from_status, to_status=to_status)


# --- Checkout: creating orders ------------------------------------------------------------

ORDER_ID_ATTEMPTS = 5


class CheckoutError(Exception):
    """The order was not created; `message` is for the customer, `field` names the form field
    it belongs to ("" = the whole form)."""

    field = ""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PackageUnavailable(CheckoutError):
    """Unknown package code, or the package (or its course) is no longer sold."""

    field = "package"


class PromoInvalid(CheckoutError):
    """The promo code does not exist or does not apply (message says which)."""

    field = "promo_code"


def promo_discount(*, promo: PromoCode, base_amount: int) -> int:
    """Rupiah taken off `base_amount`: percent rounded half up to whole rupiah, or the fixed
    value; never more than `base_amount - 1`, so an order always costs at least Rp 1 (Midtrans
    refuses zero-amount transactions)."""
    if promo.kind == PromoCode.Kind.PERCENT:
        discount = (base_amount * promo.value + 50) // 100
    else:
        discount = promo.value
    return max(0, min(discount, base_amount - 1))


def _promo_reserve(*, code: str, package: Package, now: datetime) -> PromoCode:
    """Lock the promo row, check that it applies, and count one use. Runs inside the order's
    transaction, so a rolled-back order gives the use back.

    Raises `PromoInvalid` with the customer-facing reason."""
    promo = PromoCode.objects.select_for_update().filter(code__iexact=code).first()
    if promo is None or not promo.is_active:
        raise PromoInvalid("Kode promo tidak ditemukan.")
    if promo.valid_from is not None and now < promo.valid_from:
        raise PromoInvalid("Kode promo belum berlaku.")
    if promo.valid_until is not None and now >= promo.valid_until:
        raise PromoInvalid("Kode promo sudah berakhir.")
    if promo.max_uses is not None and promo.used_count >= promo.max_uses:
        raise PromoInvalid("Kuota kode promo sudah habis.")
    if promo.packages.exists() and not promo.packages.filter(pk=package.pk).exists():
        raise PromoInvalid("Kode promo tidak berlaku untuk paket ini.")
    promo.used_count += 1
    promo.save(update_fields=["used_count"])
    return promo


def package_for_checkout(*, package_code: str) -> Package:
    """The package a customer may buy now. Raises `PackageUnavailable`."""
    package = (
        Package.objects.select_related("course")
        .filter(code=package_code, is_active=True, course__is_active=True)
        .first()
    )
    if package is None:
        raise PackageUnavailable("Paket tidak ditemukan atau sudah tidak dijual.")
    return package


def checkout_create_order(
    *,
    package_code: str,
    customer_name: str,
    customer_email: str,
    customer_phone: str,
    payment_method: str,
    promo_code: str,
    idempotency_key: str,
    ip_address: str | None,
    user_agent: str,
    now: datetime | None = None,
) -> Order:
    """Create a CREATED order for already-normalised customer input (see `orders.validators`).

    Guarantees: the amounts are a snapshot of the package price and the promo at this moment
    (`final_amount = base_amount - discount_amount >= 1`); a promo use is counted under the
    promo row lock in the same transaction as the order, so `used_count` never exceeds
    `max_uses` and a failed order uses nothing; `expires_at = now + ORDER_TTL_MINUTES`.

    Idempotent: a second call with the same `idempotency_key` returns the first order, whatever
    its other arguments (the unique constraint decides, so concurrent duplicates also get the
    first order). The order id is regenerated on the rare primary-key collision.

    Raises `PackageUnavailable` or `PromoInvalid` (nothing written)."""
    now = now or timezone.now()
    if idempotency_key and (existing := _order_by_idempotency_key(idempotency_key)):
        return existing
    package = package_for_checkout(package_code=package_code)
    for _ in range(ORDER_ID_ATTEMPTS):
        order_id = generate_order_id(now)
        try:
            return _order_insert(
                order_id=order_id,
                package=package,
                customer_name=customer_name,
                customer_email=customer_email,
                customer_phone=customer_phone,
                payment_method=payment_method,
                promo_code=promo_code,
                idempotency_key=idempotency_key or None,
                ip_address=ip_address,
                user_agent=user_agent,
                now=now,
            )
        except IntegrityError:
            if idempotency_key and (existing := _order_by_idempotency_key(idempotency_key)):
                return existing
            if not Order.objects.filter(order_id=order_id).exists():
                raise
            logger.warning("order id collision on %s; generating another", order_id)
    raise RuntimeError(f"no free order id after {ORDER_ID_ATTEMPTS} attempts")


def _order_by_idempotency_key(key: str) -> Order | None:
    return Order.objects.filter(idempotency_key=key).first()


@transaction.atomic
def _order_insert(
    *,
    order_id: str,
    package: Package,
    customer_name: str,
    customer_email: str,
    customer_phone: str,
    payment_method: str,
    promo_code: str,
    idempotency_key: str | None,
    ip_address: str | None,
    user_agent: str,
    now: datetime,
) -> Order:
    promo = _promo_reserve(code=promo_code, package=package, now=now) if promo_code else None
    discount = promo_discount(promo=promo, base_amount=package.price) if promo else 0
    order = Order.objects.create(
        order_id=order_id,
        package=package,
        package_code=package.code,
        package_name=package.name,
        base_amount=package.price,
        promo_code=promo,
        discount_code=promo.code if promo else "",
        discount_amount=discount,
        final_amount=package.price - discount,
        payment_method=payment_method,
        customer_name=customer_name,
        customer_email=customer_email,
        customer_phone=customer_phone,
        status=OrderStatus.CREATED,
        idempotency_key=idempotency_key,
        ip_address=ip_address,
        user_agent=user_agent[:300],
        expires_at=now + timedelta(minutes=settings.ORDER_TTL_MINUTES),
    )
    with correlate(order_id):
        audit_record(
            actor=SYSTEM_CHECKOUT,
            action="order_created",
            entity_type="order",
            entity_id=order_id,
            new_value={
                "status": OrderStatus.CREATED,
                "package": package.code,
                "final_amount": order.final_amount,
                "discount_code": order.discount_code,
                "payment_method": payment_method,
            },
            correlation_id=order_id,
            ip_address=ip_address,
            user_agent=user_agent,
        )
        logger.info(
            "order created: package=%s amount=%s method=%s",
            package.code,
            order.final_amount,
            payment_method,
        )
    return order


# --- Scheduled jobs -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryRun:
    expired: list[str]
    abandoned: list[str]


def _lock_if_still(*, order_id: str, status: str) -> Order | None:
    """Lock the order when it is still in `status`; None when another run holds it or it moved.
    `skip_locked` lets two overlapping runs share the work instead of queueing on each other."""
    return (
        Order.objects.select_for_update(skip_locked=True)
        .filter(order_id=order_id, status=status)
        .first()
    )


Progress = Callable[[int, int], None]
PROGRESS_EVERY = 100


def orders_expire_due(
    *, now: datetime | None = None, limit: int = 500, progress: Progress | None = None
) -> ExpiryRun:
    """PENDING_PAYMENT orders at or past `expires_at` become EXPIRED (customers get the
    `order_expired` message), and CREATED orders whose Snap transaction was never created
    become FAILED. Each order is its own transaction; an order that was paid, expired or locked
    by another run meanwhile is skipped, so overlapping runs change each order once. After
    commit, Midtrans is asked to expire the order's live attempts so they can't be paid."""
    now = now or timezone.now()
    expired: list[str] = []
    abandoned: list[str] = []
    targets = [
        (S.PENDING_PAYMENT, S.EXPIRED, expired, ""),
        (S.CREATED, S.FAILED, abandoned, "snap_never_created"),
    ]
    for from_status, to_status, done, reason in targets:
        due = Order.objects.filter(status=from_status, expires_at__lte=now).order_by("expires_at")
        order_ids = list(due.values_list("order_id", flat=True)[:limit])
        for position, order_id in enumerate(order_ids, start=1):
            if progress and position % PROGRESS_EVERY == 0:
                progress(position, len(order_ids))
            with transaction.atomic():
                if _lock_if_still(order_id=order_id, status=from_status) is None:
                    continue
                order_transition(
                    order_id=order_id,
                    to_status=to_status,
                    actor=SYSTEM_SCHEDULER,
                    reason=reason,
                    now=now,
                )
                if to_status == S.EXPIRED:
                    transaction.on_commit(partial(_expire_at_midtrans_later, order_id))
            done.append(order_id)
    return ExpiryRun(expired=expired, abandoned=abandoned)


def _expire_at_midtrans_later(order_id: str) -> None:
    from payments.tasks import expire_attempts_at_midtrans

    try:
        expire_attempts_at_midtrans.delay(order_id)
    except Exception:
        # Broker down: the order is EXPIRED either way; a late payment would still be caught by
        # reconciliation (EXPIRED orders are reconciled for 48 h).
        logger.exception("could not queue the Midtrans expire call")


REMINDER_QUIET_BEFORE_EXPIRY = timedelta(minutes=15)


def reminders_send_due(
    *, now: datetime | None = None, limit: int = 500, progress: Progress | None = None
) -> list[str]:
    """Queue one `payment_reminder` per channel for orders PENDING_PAYMENT for longer than
    REMINDER_AFTER_MINUTES and not expiring within 15 minutes. One reminder per order ever: the
    outbox's unique (order, channel, template) key decides, so a second run sends nothing and
    overlapping runs cannot double-send. None after PAID/EXPIRED: the status is re-checked
    under the row lock."""
    from notifications.models import NotificationOutbox

    now = now or timezone.now()
    already_reminded = NotificationOutbox.objects.filter(
        order=OuterRef("pk"), template_name=Template.PAYMENT_REMINDER, resend_of=None
    )
    due = (
        Order.objects.filter(
            status=S.PENDING_PAYMENT,
            created_at__lte=now - timedelta(minutes=settings.REMINDER_AFTER_MINUTES),
            expires_at__gt=now + REMINDER_QUIET_BEFORE_EXPIRY,
        )
        .exclude(Exists(already_reminded))
        .order_by("created_at")
    )
    reminded = []
    order_ids = list(due.values_list("order_id", flat=True)[:limit])
    for position, order_id in enumerate(order_ids, start=1):
        if progress and position % PROGRESS_EVERY == 0:
            progress(position, len(order_ids))
        with transaction.atomic(), correlate(order_id):
            order = _lock_if_still(order_id=order_id, status=S.PENDING_PAYMENT)
            if order is None:
                continue
            rows = notification_services.outbox_enqueue_for_order(
                order=order, template=Template.PAYMENT_REMINDER
            )
        if rows:
            reminded.append(order_id)
    return reminded
