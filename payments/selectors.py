"""Reads and pure rules about Midtrans payments."""

from payments.models import EventSource, PaymentEvent

SUCCESS_STATUSES = frozenset({"settlement", "capture"})


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
