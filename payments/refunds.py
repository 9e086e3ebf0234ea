"""Offline refunds: money returned outside Midtrans (VA and Mandiri bill payments are refunded
by bank transfer; Midtrans sends no notification for that). The only manual money action, and
it can only take access away: the event it stores says `refund`, which can confirm a REFUNDED
order and never a PAID one (`payments.selectors.event_confirms_payment` ignores its source).

Refunds through Midtrans (card, GoPay, QRIS, ShopeePay, DANA) arrive as notifications and go
through `payments.processing`; https://docs.midtrans.com/reference-link/refund-transaction
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.services import order_transition
from payments.models import EventSource, PaymentEvent

REFERENCE_MAX = 100
REASON_MAX = 500


class RefundNotAllowed(Exception):
    """Nothing was recorded; `message` is for the staff user (Indonesian)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RecordedRefund:
    order_id: str
    event_id: int
    amount: int


def refund_record_offline(
    *,
    order_id: str,
    amount: int,
    reference: str,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> RecordedRefund:
    """Record that the whole payment of a PAID order was returned outside Midtrans: stores a
    `PaymentEvent` (source `offline_refund`, amount, reference, reason, who), and moves the
    order to REFUNDED through `order_transition` (entitlement revoked, customer told, audit row
    with `actor`). One transaction; a second refund of the same order is refused.

    Raises `RefundNotAllowed` (order not PAID, amount not the paid amount, missing reference
    or reason) and `Order.DoesNotExist`."""
    reference, reason = reference.strip(), reason.strip()
    if not reference or not reason:
        raise RefundNotAllowed("Isi nomor referensi transfer dan alasan refund.")
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(order_id=order_id)
        if order.status != OrderStatus.PAID:
            raise RefundNotAllowed(
                f"Hanya order berstatus PAID yang bisa di-refund (status sekarang {order.status})."
            )
        if amount != order.final_amount:
            raise RefundNotAllowed(
                f"Jumlah refund harus sama dengan yang dibayar (Rp {order.final_amount}). "
                "Refund sebagian tidak mengubah status order; catat di catatan support."
            )
        event = PaymentEvent.objects.create(
            idempotency_key=f"offline_refund:{order.order_id}",
            source=EventSource.OFFLINE_REFUND,
            attempt=order.attempts.filter(status="COMPLETED").order_by("-sequence").first(),
            order=order,
            midtrans_order_id=order.order_id,
            transaction_status="refund",
            gross_amount=f"{amount}.00",
            raw_payload={
                "refund_amount": amount,
                "reference": reference[:REFERENCE_MAX],
                "reason": reason[:REASON_MAX],
                "recorded_by": actor,
            },
            signature_valid=False,
            outcome="refunded",
        )
        order_transition(
            order_id=order.order_id,
            to_status=OrderStatus.REFUNDED,
            actor=actor,
            reason=f"Refund offline {reference[:REFERENCE_MAX]}: {reason[:REASON_MAX]}",
            payment_event=event,
            now=now,
        )
    return RecordedRefund(order_id=order.order_id, event_id=event.pk, amount=amount)
