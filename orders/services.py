"""The order state machine. `order_transition` is the only code that writes `Order.status`.

It locks the order row, checks the move against `ALLOWED_TRANSITIONS` and the move's guard,
stamps the timestamps, writes an audit row, and performs the side effects of entering the new
state in the same transaction, so money, access and messages can never disagree.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from buatfilm.logging import correlate
from courses import services as course_services
from courses.models import Package
from notifications.models import NotificationOutbox, Template
from notifications.services import ops_alert_enqueue
from orders.messages import outbox_enqueue_for_order
from orders.models import Order, OrderStatus
from orders.signals import order_expired
from payments.models import PaymentAttempt, PaymentEvent
from payments.selectors import event_confirms_payment, event_confirms_refund
from supportdesk.audit import (
    SYSTEM_SCHEDULER,
    AuditEntries,
    AuditEntry,
    audit_entry,
    audit_write,
)

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


def _order_audit_entry(
    *,
    order: Order,
    action: str,
    actor: str,
    from_status: str,
    new_value: dict[str, Any],
    ip_address: str | None = None,
) -> AuditEntry:
    """An audit row about the order leaving `from_status` (written with the transition's)."""
    return audit_entry(
        actor=actor,
        action=action,
        entity_type="order",
        entity_id=order.order_id,
        old_value={"status": from_status},
        new_value=new_value,
        correlation_id=order.order_id,
        ip_address=ip_address,
    )


def _enter_state(
    *,
    order: Order,
    from_status: str,
    actor: str,
    reason: str,
    now: datetime,
    notify: bool,
    attempt: PaymentAttempt | None,
    audit: AuditEntries,
) -> None:
    """Side effects of entering `order.status`; runs inside the transition's transaction, and
    appends its audit rows to `audit` (the caller writes them).
    `notify=False` skips the customer message of this state (not access, not alerts). Every
    state is entered at most once per order (`ALLOWED_TRANSITIONS` has no way back), so its
    message cannot exist yet (`assume_new`)."""
    if order.status == S.PENDING_PAYMENT:
        if notify:
            outbox_enqueue_for_order(
                order=order, template=Template.PAYMENT_INSTRUCTION, attempt=attempt, assume_new=True
            )
    elif order.status == S.PAID:
        _course_load(order)
        entitlement = course_services.entitlement_grant(
            order=order, actor=actor, now=now, audit=audit
        )
        outbox_enqueue_for_order(
            order=order,
            template=Template.PAYMENT_SUCCESS_ACCESS,
            channel_context=course_services.access_message_contexts(
                order=order, user_id=entitlement.user_id
            ),
            assume_new=True,
        )
        if from_status in (S.EXPIRED, S.FAILED):
            audit.append(
                _order_audit_entry(
                    order=order,
                    action="late_payment",
                    actor=actor,
                    from_status=from_status,
                    new_value={"status": order.status},
                )
            )
            ops_alert_enqueue(
                dedupe_key=f"late_payment:{order.order_id}",
                subject=f"Pembayaran terlambat: {order.order_id}",
                message=(
                    f"Order {order.order_id} sudah {from_status} tetapi Midtrans mengonfirmasi "
                    "pembayaran. Akses kursus diberikan otomatis; periksa apakah perlu tindakan."
                ),
                order=order,
            )
    elif order.status == S.EXPIRED:
        outbox_enqueue_for_order(order=order, template=Template.ORDER_EXPIRED, assume_new=True)
    elif order.status == S.FAILED and from_status == S.PENDING_PAYMENT:
        outbox_enqueue_for_order(
            order=order,
            template=Template.PAYMENT_FAILED,
            extra_context={"reason": reason},
            assume_new=True,
        )
    elif order.status == S.REFUNDED:
        course_services.entitlement_revoke(order=order, actor=actor, reason=reason, now=now)
        if notify:
            outbox_enqueue_for_order(order=order, template=Template.ORDER_REFUNDED, assume_new=True)


def _course_load(order: Order) -> None:
    """Entering PAID needs the course the order opens (the entitlement, the access message):
    package and course in one query, unless the caller read them with the order (the
    webhook's locked read does). Never locked: the catalogue rows are shared by every order."""
    if not Order.package.is_cached(order):
        order.package = Package.objects.select_related("course").get(pk=order.package_id)


_TIMESTAMP_FIELD: dict[str, str] = {
    S.PAID: "paid_at",
    S.FAILED: "failed_at",
    S.EXPIRED: "expired_at",
    S.REFUNDED: "refunded_at",
}


def order_transition(
    *,
    order_id: str,
    to_status: str,
    actor: str,
    reason: str = "",
    payment_event: PaymentEvent | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
    notify: bool = True,
    locked_order: Order | None = None,
    attempt: PaymentAttempt | None = None,
) -> Transition:
    """Move an order to `to_status`: the one writer of `Order.status`.

    Guarantees: the order row is locked for the whole transaction; the move is in
    `ALLOWED_TRANSITIONS` and its guard holds; status, timestamp, audit row and the entry side
    effects (entitlement, outbox rows) commit together or not at all.

    `locked_order`: the caller already holds this order's row lock in its own transaction
    (read with `order_for_transition`); it is moved in place, without a second read and
    without a savepoint: the move is checked before anything is written, and an error after
    that rolls back the caller's transaction, which is what a failed side effect must do.
    `attempt`: the order's latest payment attempt when the caller has it (the payment
    instructions of PENDING_PAYMENT describe it; otherwise it is read).

    Raises `Order.DoesNotExist`, `IllegalTransition` (no such move, including to the same
    status) or `TransitionGuardFailed` (PAID/REFUNDED without a confirming verified payment
    event, EXPIRED before `expires_at`). On any error nothing is written.
    """
    now = now or timezone.now()
    check = partial(_check_move, to_status=to_status, payment_event=payment_event, now=now)
    move = partial(
        _move,
        to_status=to_status,
        actor=actor,
        reason=reason,
        payment_event=payment_event,
        ip_address=ip_address,
        now=now,
        notify=notify,
        attempt=attempt,
    )
    with correlate(order_id):
        if locked_order is not None:
            if locked_order.order_id != order_id:
                raise ValueError(f"locked_order is {locked_order.order_id}, not {order_id}")
            if not transaction.get_connection().in_atomic_block:
                raise transaction.TransactionManagementError(
                    "locked_order needs the caller's transaction (and its row lock)"
                )
            check(order=locked_order)
            with transaction.atomic(savepoint=False):
                return move(order=locked_order)
        with transaction.atomic():
            order = order_for_transition(order_id=order_id)
            check(order=order)
            return move(order=order)


def order_for_transition(*, order_id: str) -> Order:
    """The order, row-locked for the rest of the transaction. Its row only: entering PAID
    loads the course it opens (`_course_load`), no other transition reads the catalogue."""
    return Order.objects.select_for_update().get(order_id=order_id)


def _check_move(
    *, order: Order, to_status: str, payment_event: PaymentEvent | None, now: datetime
) -> None:
    if to_status not in ALLOWED_TRANSITIONS[order.status]:
        raise IllegalTransition(f"{order.order_id}: {order.status} -> {to_status} is not allowed")
    _check_guard(order=order, to_status=to_status, payment_event=payment_event, now=now)


def _move(
    *,
    order: Order,
    to_status: str,
    actor: str,
    reason: str,
    payment_event: PaymentEvent | None,
    ip_address: str | None,
    now: datetime,
    notify: bool,
    attempt: PaymentAttempt | None,
) -> Transition:
    from_status = order.status
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
    # The transition's audit rows (this one, and those of entering the state) go in one INSERT.
    audit = [
        _order_audit_entry(
            order=order,
            action="order_status_changed",
            actor=actor,
            from_status=from_status,
            new_value=new_value,
            ip_address=ip_address,
        )
    ]
    _enter_state(
        order=order,
        from_status=from_status,
        actor=actor,
        reason=reason,
        now=now,
        notify=notify,
        attempt=attempt,
        audit=audit,
    )
    audit_write(audit)
    logger.info("order %s: %s -> %s by %s", order.order_id, from_status, to_status, actor)
    return Transition(order=order, from_status=from_status, to_status=to_status)


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
                    transaction.on_commit(partial(_announce_expired, order_id))
            done.append(order_id)
    return ExpiryRun(expired=expired, abandoned=abandoned)


def _announce_expired(order_id: str) -> None:
    # Payments listens (it asks Midtrans to expire the live transactions); orders does not
    # know who. A failing receiver must not fail the expiry run: the order is EXPIRED either
    # way, and reconciliation still catches a late payment (EXPIRED orders for 48 h).
    for receiver, result in order_expired.send_robust(sender=Order, order_id=order_id):
        if isinstance(result, Exception):
            logger.error(
                "order_expired receiver %s failed for %s",
                getattr(receiver, "__qualname__", receiver),
                order_id,
                exc_info=result,
            )


REMINDER_QUIET_BEFORE_EXPIRY = timedelta(minutes=15)


def reminders_send_due(
    *, now: datetime | None = None, limit: int = 500, progress: Progress | None = None
) -> list[str]:
    """Queue one `payment_reminder` per channel for orders PENDING_PAYMENT for longer than
    REMINDER_AFTER_MINUTES and not expiring within 15 minutes. One reminder per order ever: the
    outbox's unique (order, channel, template) key decides, so a second run sends nothing and
    overlapping runs cannot double-send. None after PAID/EXPIRED: the status is re-checked
    under the row lock."""
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
            rows = outbox_enqueue_for_order(order=order, template=Template.PAYMENT_REMINDER)
        if rows:
            reminded.append(order_id)
    return reminded
