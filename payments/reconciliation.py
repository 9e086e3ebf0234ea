"""Asking Midtrans: reconciliation (GET status fed through the webhook's processing path) and
expiring live transactions at Midtrans after the scheduler expired an order."""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from buatfilm.logging import correlate
from orders.models import Order, OrderStatus
from payments.midtrans import MidtransError, MidtransRejected, get_gateway
from payments.models import EventSource, PaymentAttempt
from payments.parsing import NotificationRejected
from payments.processing import Outcome, payment_notification_process
from payments.selectors import (
    attempt_by_transaction_id_only,
    attempt_is_live,
    attempt_midtrans_ref,
    attempts_to_ask,
    orders_to_reconcile,
)
from supportdesk.audit import SYSTEM_RECONCILIATION

logger = logging.getLogger(__name__)


# --- Reconciliation: ask Midtrans, feed the answer through the same path --------------------

NOT_STARTED = "not_started"
ERROR = "error"
# DANA can only be asked by transaction_id, which we learn from its first notification.
NO_TRANSACTION_ID = "no_transaction_id"


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
        return self.result not in (NOT_STARTED, ERROR, NO_TRANSACTION_ID, Outcome.DUPLICATE)


def payment_reconcile_order(
    *, order_id: str, actor: str, only_open: bool = False, now: datetime | None = None
) -> list[AttemptReconciliation]:
    """Ask Midtrans for the status of every attempt of the order that reached Snap (with
    `only_open`, the scheduled job: only those `attempts_to_ask` picks, so a final attempt is
    not asked again), and feed
    each answer through `payment_notification_process` as a `reconciliation` event (same
    signature check, same idempotency key, same state machine as the webhook: a fact the webhook
    already delivered is a no-op). The HTTP calls happen outside any transaction; each answer
    is applied in its own.

    DANA is asked by its transaction_id (https://docs.midtrans.com/reference/dana); without
    one yet the result is NO_TRANSACTION_ID. Every asked attempt, and the order, gets
    `last_reconciled_at` (the order's is the rotation in `orders_to_reconcile`), whatever the
    answer.

    One attempt's Midtrans failure (unreachable, 4xx, bad signature) is recorded as an ERROR
    result and does not stop the others. Raises `Order.DoesNotExist` for an unknown order id.
    """
    if not Order.objects.filter(pk=order_id).exists():
        raise Order.DoesNotExist(f"order {order_id} does not exist")
    candidates = attempts_to_ask() if only_open else PaymentAttempt.objects.exclude(snap_token="")
    attempts = list(candidates.filter(order_id=order_id).order_by("sequence"))
    asked_at = now or timezone.now()
    if attempts:
        Order.objects.filter(pk=order_id).update(last_reconciled_at=asked_at)
    gateway = get_gateway()
    results: list[AttemptReconciliation] = []
    with correlate(order_id):
        for attempt in attempts:
            midtrans_order_id = attempt.midtrans_order_id
            PaymentAttempt.objects.filter(pk=attempt.pk).update(last_reconciled_at=asked_at)
            ref = attempt_midtrans_ref(attempt)
            if ref is None:
                results.append(
                    AttemptReconciliation(order_id, midtrans_order_id, NO_TRANSACTION_ID)
                )
                continue
            try:
                answer = gateway.get_status(ref)
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
    `payments.selectors.orders_to_reconcile` picks: PENDING_PAYMENT older than
    RECONCILE_AFTER_MINUTES first (at most RECONCILE_BATCH_SIZE), then EXPIRED/FAILED changed
    in the last RECONCILE_RECENT_HOURS (at most RECONCILE_RECENT_BATCH_SIZE), each group
    rotating by `last_reconciled_at`; final attempts are not asked. A failure on one order is
    logged and counted; the batch goes on. Safe to overlap with itself and with the webhook
    (idempotency key + row lock)."""
    now = now or timezone.now()
    order_ids = orders_to_reconcile(
        now=now,
        pending_after_minutes=settings.RECONCILE_AFTER_MINUTES,
        recent_hours=settings.RECONCILE_RECENT_HOURS,
        pending_limit=settings.RECONCILE_BATCH_SIZE,
        recent_limit=settings.RECONCILE_RECENT_BATCH_SIZE,
    )
    summary = ReconcileSummary(orders=len(order_ids))
    for position, order_id in enumerate(order_ids, start=1):
        if progress and position % 50 == 0:
            progress(position, len(order_ids))
        try:
            summary.attempts.extend(
                payment_reconcile_order(order_id=order_id, actor=actor, only_open=True, now=now)
            )
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
    not_supported: list[str] = field(default_factory=list)


def payment_expire_at_midtrans(*, order_id: str) -> MidtransExpiry:
    """Ask Midtrans to expire every live attempt of an EXPIRED order, so the customer can no
    longer pay a transaction we consider dead. 407 (expired now) and 404 (the customer never
    picked a method) are both fine. 412 means Midtrans already closed it; if the transaction
    settled meanwhile, reconciliation feeds the settlement through the processing path and the
    order becomes PAID as a late payment. Raises `MidtransUnavailable` so the task retries.
    Calls Midtrans outside any transaction; does nothing for an order that is not EXPIRED."""
    result = MidtransExpiry()
    if not Order.objects.filter(pk=order_id, status=OrderStatus.EXPIRED).exists():
        return result
    live = [
        a
        for a in PaymentAttempt.objects.filter(order_id=order_id).exclude(snap_token="")
        if attempt_is_live(a)
    ]
    # DANA has no expire API (https://docs.midtrans.com/reference/dana): its transaction
    # expires at Midtrans by itself; a late payment is still found by reconciliation.
    result.not_supported.extend(
        a.midtrans_order_id for a in live if attempt_by_transaction_id_only(a)
    )
    attempts = [a for a in live if not attempt_by_transaction_id_only(a)]
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
