"""Midtrans notification bodies, pure: field access, signature verification and the
idempotency key. No database writes; `payments.processing` applies what this accepts.

Idempotency key (`notification_idempotency_key`):
    `<transaction_id or "order:"+midtrans order id>:<transaction_status>:<fraud_status>:
    <status_code>:<gross_amount as 2-decimal number>` plus, for refund-like statuses,
    `:<refund_amount>:<number of refunds>` (two partial refunds of one transaction are two
    events). The same fact seen by the webhook and by reconciliation has the same key, so the
    second is a no-op whatever its source. Keys longer than 200 characters are stored as their
    SHA-256.
"""

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.models import PaymentAttempt

# Fields the signature covers, plus the one we cannot act without.
SIGNED_FIELDS = ("order_id", "status_code", "gross_amount")
REQUIRED_FIELDS = (*SIGNED_FIELDS, "signature_key", "transaction_status")
# Statuses that mean "money" (or its return): Midtrans always pairs them with status_code 200.
# The signature does not cover transaction_status, so a signed 201 "pending" body must not be
# replayable as a "settlement"; a money status with another status code is never applied.
MONEY_STATUSES = frozenset({"settlement", "capture", "refund"})
REFUND_LIKE_STATUSES = frozenset({"refund", "partial_refund", "chargeback", "partial_chargeback"})
OPS_ONLY_STATUSES = frozenset({"partial_refund", "chargeback", "partial_chargeback"})
CLOSED_ATTEMPT_STATUSES = frozenset({"deny", "failure", "cancel", "expire"})
# Channel details worth keeping on the attempt (status page, messages, support).
DETAIL_FIELDS = (
    "va_numbers",
    "permata_va_number",
    "bill_key",
    "biller_code",
    "actions",
    "payment_code",
    "store",
    "issuer",
    "acquirer",
    "transaction_time",
    "settlement_time",
    "expiry_time",
)


class NotificationRejected(Exception):
    """The body is not a genuine Midtrans message (missing fields or a wrong signature).
    Nothing was stored. `reason` and `midtrans_order_id` are safe to log and audit."""

    def __init__(self, reason: str, *, midtrans_order_id: str = "", fields: tuple[str, ...] = ()):
        super().__init__(reason)
        self.reason = reason
        self.midtrans_order_id = midtrans_order_id
        self.fields = fields


def text_field(payload: Mapping[str, Any], name: str, max_length: int) -> str:
    """A string field of a loosely parsed body: non-strings count as absent, and values are
    cut to the column length so a surprising body cannot turn into a database error."""
    value = payload.get(name)
    return value[:max_length] if isinstance(value, str) else ""


def notification_signature(
    *, order_id: str, status_code: str, gross_amount: str, server_key: str
) -> str:
    """Midtrans `signature_key`: hex SHA-512 of the four raw strings concatenated."""
    raw = f"{order_id}{status_code}{gross_amount}{server_key}"
    # surrogatepass: a forged body with lone surrogates must fail the comparison, not crash.
    return hashlib.sha512(raw.encode("utf-8", "surrogatepass")).hexdigest()


def notification_signature_verify(*, payload: Mapping[str, Any]) -> str:
    """Check that `payload` was signed by Midtrans with our server key; return its Midtrans
    order id. Constant-time comparison on the raw strings, no normalisation.

    Raises `NotificationRejected` (missing fields, wrong signature) and `ImproperlyConfigured`
    when MIDTRANS_SERVER_KEY is empty (then anyone could compute a valid signature)."""
    order_id = payload.get("order_id")
    safe_order_id = order_id[:64] if isinstance(order_id, str) else ""
    missing = tuple(f for f in REQUIRED_FIELDS if not text_field(payload, f, 100_000))
    if missing:
        raise NotificationRejected(
            "missing_fields", midtrans_order_id=safe_order_id, fields=missing
        )
    server_key = settings.MIDTRANS_SERVER_KEY
    if not server_key:
        raise ImproperlyConfigured("MIDTRANS_SERVER_KEY is empty: notifications cannot be verified")
    expected = notification_signature(
        order_id=payload["order_id"],
        status_code=payload["status_code"],
        gross_amount=payload["gross_amount"],
        server_key=server_key,
    )
    if not hmac.compare_digest(
        expected.encode(), payload["signature_key"].encode("utf-8", "surrogatepass")
    ):
        raise NotificationRejected("invalid_signature", midtrans_order_id=safe_order_id)
    return payload["order_id"]


def parse_amount(value: object) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def notification_idempotency_key(*, payload: Mapping[str, Any]) -> str:
    """The key that makes a redelivered fact a no-op (see the module docstring)."""
    status = text_field(payload, "transaction_status", 32)
    amount = parse_amount(payload.get("gross_amount"))
    parts = [
        text_field(payload, "transaction_id", 64) or f"order:{text_field(payload, 'order_id', 64)}",
        status,
        text_field(payload, "fraud_status", 16),
        text_field(payload, "status_code", 8),
        f"{amount:.2f}" if amount is not None else text_field(payload, "gross_amount", 32),
    ]
    if status in REFUND_LIKE_STATUSES:
        refunds = payload.get("refunds")
        parts += [
            str(payload.get("refund_amount", ""))[:32],
            str(len(refunds)) if isinstance(refunds, list) else "",
        ]
    key = ":".join(parts)
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def amount_matches(*, payload: Mapping[str, Any], attempt: PaymentAttempt) -> bool:
    """`gross_amount` as a decimal equals the attempt amount exactly, in IDR (when stated)."""
    currency = payload.get("currency")
    if currency is not None and currency != "IDR":
        return False
    amount = parse_amount(payload.get("gross_amount"))
    return amount is not None and amount == attempt.amount


def valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
