"""Driving test orders through the real state machine, the only legal way: every status is
reached through `order_transition` with what the move needs (a verified payment event for PAID
and REFUNDED, a clock past `expires_at` for EXPIRED). Shared by every app's tests."""

from datetime import timedelta
from typing import Any

from orders.models import Order, OrderStatus
from orders.services import Transition, order_transition
from orders.tests.factories import OrderFactory
from payments.models import PaymentEvent
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

S = OrderStatus
ACTOR = "test"

# Paths from a fresh CREATED order to each status, through legal moves only.
PATH_TO = {
    S.CREATED: [],
    S.PENDING_PAYMENT: [S.PENDING_PAYMENT],
    S.PAID: [S.PENDING_PAYMENT, S.PAID],
    S.FAILED: [S.PENDING_PAYMENT, S.FAILED],
    S.EXPIRED: [S.PENDING_PAYMENT, S.EXPIRED],
    S.REFUNDED: [S.PENDING_PAYMENT, S.PAID, S.REFUNDED],
}


def event_for(order: Order, transaction_status: str = "settlement", **kwargs: Any) -> PaymentEvent:
    """A verified Midtrans event for the order's first attempt (created if it has none)."""
    attempt = order.attempts.first() or PaymentAttemptFactory(order=order)
    return PaymentEventFactory(attempt=attempt, transaction_status=transaction_status, **kwargs)


def move(order: Order, to_status: str, **kwargs: Any) -> Transition:
    """One transition, with whatever the move legitimately needs unless the caller gives it."""
    if to_status == S.PAID:
        kwargs.setdefault("payment_event", event_for(order))
    if to_status == S.REFUNDED:
        kwargs.setdefault("payment_event", event_for(order, "refund", status_code="200"))
    if to_status == S.EXPIRED:
        kwargs.setdefault("now", order.expires_at + timedelta(seconds=1))
    kwargs.setdefault("actor", ACTOR)
    return order_transition(order_id=order.order_id, to_status=to_status, **kwargs)


def order_in(status: str, **factory_kwargs: Any) -> Order:
    """A fresh order in `status`, reached from CREATED through legal transitions only."""
    order = OrderFactory(**{**factory_kwargs, "status": S.CREATED})
    for step in PATH_TO[status]:
        move(order, step)
    order.refresh_from_db()
    assert order.status == status
    return order


def pay(order: Order) -> Order:
    """Pay an existing order with a verified settlement."""
    return move(order, S.PAID).order


def paid_order(**order_kwargs: Any) -> Order:
    """An order driven to PAID the only legal way, which creates its customer and ACTIVE
    entitlement."""
    return order_in("PAID", **order_kwargs)


def refunded_order(**order_kwargs: Any) -> Order:
    """A PAID order refunded through the state machine (entitlement REVOKED)."""
    return order_in("REFUNDED", **order_kwargs)
