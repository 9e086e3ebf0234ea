"""Cancelling a pending order: the customer's "Batalkan pesanan" (and support's staff cancel).

Order of events, so that money always wins:
1. every live attempt is cancelled at Midtrans (Cancel API; a Snap session the customer never
   opened is expired instead), outside any database transaction;
2. Midtrans' own view of each attempt is then fed through the webhook's processing path
   (reconciliation): a settlement that raced the cancel makes the order PAID, a cancel fails
   the attempt (and the order, when nothing else is live);
3. only if the order is still CREATED/PENDING_PAYMENT after that is it moved to FAILED through
   the state machine, which also tells the customer (`payment_failed`).
"""

import logging
from dataclasses import dataclass, field

from buatfilm.logging import correlate
from orders.models import Order, OrderStatus
from orders.services import IllegalTransition, order_transition
from payments.midtrans import MidtransGateway, MidtransRejected, MidtransUnavailable, get_gateway
from payments.models import PaymentAttempt
from payments.reconciliation import payment_reconcile_order
from payments.selectors import attempt_by_transaction_id_only, attempt_is_live, attempt_midtrans_ref

logger = logging.getLogger(__name__)

CUSTOMER_ACTOR = "customer"
CANCELLABLE = frozenset({OrderStatus.CREATED, OrderStatus.PENDING_PAYMENT})
REASON_CUSTOMER = "Dibatalkan oleh pelanggan"


class CancelNotAllowed(Exception):
    """The order is not pending any more (paid, failed, expired, refunded): nothing was done."""

    def __init__(self, order: Order) -> None:
        super().__init__(f"order {order.order_id} is {order.status}")
        self.order = order


class CancelUnavailable(Exception):
    """Midtrans could not be reached, so the live transaction may still be payable: the order
    was left as it was (cancelling it here while the customer can still pay would be a lie)."""


@dataclass
class CancelResult:
    order: Order
    cancelled_at_midtrans: list[str] = field(default_factory=list)

    @property
    def paid_meanwhile(self) -> bool:
        return self.order.status == OrderStatus.PAID


def order_cancel(
    *,
    order_id: str,
    actor: str = CUSTOMER_ACTOR,
    reason: str = REASON_CUSTOMER,
    ip_address: str | None = None,
) -> CancelResult:
    """Cancel a CREATED/PENDING_PAYMENT order (customer or staff; `actor` is audited).

    Guarantees: no Midtrans call inside a transaction; a settlement that reaches us before or
    because of the cancel wins (the order ends PAID and `paid_meanwhile` is true); otherwise the
    order ends FAILED through `order_transition` (audit row + `payment_failed` message).

    Raises `Order.DoesNotExist`, `CancelNotAllowed` (order not pending) or `CancelUnavailable`
    (Midtrans unreachable; nothing changed, try again)."""
    with correlate(order_id):
        order = Order.objects.get(order_id=order_id)
        if order.status not in CANCELLABLE:
            raise CancelNotAllowed(order)
        result = CancelResult(order=order)
        gateway = get_gateway()
        live = [
            a
            for a in PaymentAttempt.objects.filter(order_id=order_id).exclude(snap_token="")
            if attempt_is_live(a)
        ]
        for attempt in live:
            try:
                _cancel_at_midtrans(gateway, attempt)
            except (MidtransUnavailable, MidtransRejected) as exc:
                raise CancelUnavailable(str(exc)) from exc
            result.cancelled_at_midtrans.append(attempt.midtrans_order_id)
        if live:
            # Midtrans' answer (cancel, or a settlement that won the race) through one path.
            payment_reconcile_order(order_id=order_id, actor=actor)
        order.refresh_from_db()
        if order.status in CANCELLABLE:
            try:
                order = order_transition(
                    order_id=order_id,
                    to_status=OrderStatus.FAILED,
                    actor=actor,
                    reason=reason,
                    ip_address=ip_address,
                ).order
            except IllegalTransition:
                order.refresh_from_db()  # moved meanwhile (a settlement): keep what happened
        result.order = order
        logger.info("order cancel by %s: order now %s", actor, order.status)
        return result


def _cancel_at_midtrans(gateway: MidtransGateway, attempt: PaymentAttempt) -> None:
    """Cancel; 404 (no transaction: the customer never picked a method) -> expire the Snap
    session instead; 412 (already final) is fine: reconciliation reads what it became.

    DANA is called by its transaction_id and has no expire API
    (https://docs.midtrans.com/reference/dana): an attempt whose transaction id we don't know
    yet has no DANA transaction to cancel, and a later payment still wins via reconciliation."""
    ref = attempt_midtrans_ref(attempt)
    if ref is not None:
        try:
            gateway.cancel(ref)
            return
        except MidtransRejected as exc:
            if exc.http_status == 412:
                return
            if exc.http_status != 404:
                raise
    if attempt_by_transaction_id_only(attempt):
        return
    try:
        gateway.expire(attempt.midtrans_order_id)
    except MidtransRejected as exc:
        if exc.http_status not in (404, 412):
            raise
