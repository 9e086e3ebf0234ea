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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from buatfilm.hostile import json_sanitise
from payments.models import EventSource, PaymentAttempt

# Fields the signature covers, plus the one we cannot act without.
SIGNED_FIELDS = ("order_id", "status_code", "gross_amount")
REQUIRED_FIELDS = (*SIGNED_FIELDS, "signature_key", "transaction_status")
# Statuses that mean "money" (or its return): Midtrans always pairs them with status_code 200.
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
    "qr_string",
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


def payload_sanitise(payload: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The body with every string storable: NUL removed, lone surrogates replaced, values cut
    to 4096 characters (PostgreSQL text/jsonb refuse the first two). Returns the JSON paths
    that changed. A signed field that changed no longer matches its signature, so such a body
    is refused, not applied; anything else is stored sanitised instead of failing forever."""
    changed: list[str] = []
    clean = json_sanitise(dict(payload), changed=changed)
    return clean, changed


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


# --- The status table ------------------------------------------------------------------------
#
# The signature covers only order_id + status_code + gross_amount, not transaction_status or
# fraud_status. So the one thing that ties a status word to a genuine Midtrans message is the
# status_code Midtrans pairs with it; a body whose (transaction_status, fraud_status,
# status_code) is not one Midtrans documents is stored and NOT applied. A signed "pending"
# (201) re-labelled "cancel" or "settlement" therefore changes nothing.
#
# Sources (docs.midtrans.com):
#   webhook codes, fraud_status per channel: https://docs.midtrans.com/docs/https-notification-webhooks
#   the code list (200 success, 201 pending/challenge, 202 denied/expired/cancelled):
#       https://docs.midtrans.com/reference/code-2xx
#   "status_code should be 200, fraud_status accept, settlement/capture":
#       https://docs.midtrans.com/reference/best-practices-to-handle-notification
#   GET status / expire answer 407 for an expired transaction:
#       https://docs.midtrans.com/reference/expire-transaction
#   GET status / cancel answer 200 for a cancelled transaction:
#       https://docs.midtrans.com/reference/cancel-transaction
#   capture + challenge is 201 (card 3DS / FDS review): https://docs.midtrans.com/docs/transaction-status-cycle


class Action:
    """What a (source, transaction_status, fraud_status, status_code) combination means."""

    PAID = "paid"  # settlement, capture + accept
    CHALLENGE = "challenge"  # capture + challenge: fraud review in the Midtrans portal
    PENDING = "pending"  # a method was picked, waiting for the customer
    DENY = "deny"  # this attempt failed (the customer may retry); after settlement: reversal
    FAILURE = "failure"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND = "refund"
    OPS_ONLY = "ops_only"  # partial_refund, chargeback, partial_chargeback: people decide
    UNRECOGNISED = "unrecognised"  # not a documented combination: stored, not applied


# fraud_status is absent on channels without fraud screening (VA, e-wallets, QRIS, stores).
NO_FRAUD = ""
_ANY_FRAUD = frozenset({"accept", "challenge", "deny", NO_FRAUD})
_ACCEPTED = frozenset({"accept", NO_FRAUD})


@dataclass(frozen=True)
class _Row:
    transaction_status: str
    fraud: frozenset[str]
    webhook_codes: frozenset[str]
    status_api_codes: frozenset[str]
    action: str


def _row(status: str, fraud: frozenset[str], webhook: str, api: str, action: str) -> _Row:
    return _Row(status, fraud, frozenset(webhook.split()), frozenset(api.split()), action)


STATUS_TABLE: tuple[_Row, ...] = (
    #    transaction_status   fraud_status          webhook  GET status  action
    _row("settlement", _ACCEPTED, "200", "200", Action.PAID),
    _row("capture", _ACCEPTED, "200", "200", Action.PAID),
    _row("capture", frozenset({"challenge"}), "201", "201", Action.CHALLENGE),
    _row("capture", frozenset({"deny"}), "202", "202", Action.DENY),
    _row("pending", _ACCEPTED, "201", "201", Action.PENDING),
    _row("deny", _ANY_FRAUD, "202", "202", Action.DENY),
    _row("failure", _ANY_FRAUD, "202", "202", Action.FAILURE),
    _row("cancel", _ANY_FRAUD, "202", "200", Action.CANCEL),
    _row("expire", _ANY_FRAUD, "202", "407", Action.EXPIRE),
    _row("refund", _ANY_FRAUD, "200", "200", Action.REFUND),
    _row("partial_refund", _ANY_FRAUD, "200", "200", Action.OPS_ONLY),
    _row("chargeback", _ANY_FRAUD, "200", "200", Action.OPS_ONLY),
    _row("partial_chargeback", _ANY_FRAUD, "200", "200", Action.OPS_ONLY),
)


def status_action(
    *, source: str, transaction_status: str, fraud_status: str, status_code: str
) -> str:
    """The `Action` for one Midtrans body, from `STATUS_TABLE`; `Action.UNRECOGNISED` for any
    combination Midtrans does not document for that source (webhook notification or our own
    GET-status call)."""
    fraud = fraud_status.lower()
    for row in STATUS_TABLE:
        if row.transaction_status != transaction_status or fraud not in row.fraud:
            continue
        codes = row.status_api_codes if source == EventSource.RECONCILIATION else row.webhook_codes
        return row.action if status_code in codes else Action.UNRECOGNISED
    return Action.UNRECOGNISED
