"""A WSGI imitation of the parts of Midtrans this shop uses (dev/test only, never production).

Why: the payment code must be driven through the real ``midtransclient`` SDK over real HTTP, and
tests must be able to trigger every webhook case, API failure and timeout on demand. Everything
here is stdlib so the simulator runs without Django and cannot drag settings into its own tests.

Routes (JSON unless stated):

* ``POST /snap/v1/transactions`` - Snap token creation (Basic auth = server key).
* ``GET /v2/<order_id|transaction_id>/status``, ``POST /v2/<id>/expire``, ``POST /v2/<id>/cancel``,
  ``POST /v2/<id>/refund`` - Core API (Basic auth).
* ``GET /snap/v4/redirection/<token>`` - HTML payment page; its buttons ``POST`` to
  ``/snap/v4/redirection/<token>/{choose,pay,fail,expire}``.
* ``/_sim/...`` - unauthenticated test controls (fail/delay next requests, inspect state, send
  notifications, reset), mirrored by public methods of :class:`MidtransSimulator`.

How it follows real Midtrans (each behaviour with the page that documents it):

* Status codes live in the body; the HTTP status of a Core API answer is 200 even for an unknown
  transaction (body ``status_code`` "404"): https://docs.midtrans.com/reference/get-transaction-status
* GET status of an expired transaction says "407", of a cancelled one "200"; the webhook sent
  for either says "202": https://docs.midtrans.com/reference/expire-transaction and
  https://docs.midtrans.com/reference/cancel-transaction
* capture + fraud challenge is "201": https://docs.midtrans.com/reference/code-2xx and
  https://docs.midtrans.com/docs/transaction-status-cycle
* ``fraud_status`` is sent only by channels with fraud screening (absent for Mandiri bill and
  DANA here): https://docs.midtrans.com/docs/https-notification-webhooks (sample bodies)
* GoPay paid by scanning the QR from a desktop browser arrives as ``payment_type: "qris"``
  (issuer/acquirer gopay): https://docs.midtrans.com/docs/https-notification-webhooks
* A refund is notified twice, first without and then with ``refunds[].bank_confirmed_at``:
  https://docs.midtrans.com/docs/https-notification-webhooks and
  https://docs.midtrans.com/reference-link/refund-transaction
* DANA status, cancel and refund work only with the ``transaction_id``; DANA has no expire:
  https://docs.midtrans.com/reference/dana
* A Snap order id that was used answers 400 with ``error_messages``, except while the customer
  has not picked a method yet (then a fresh token for the same transaction):
  https://docs.midtrans.com/docs/error-code-and-response-code
* A Snap expiry shorter than 5 minutes is refused:
  https://docs.midtrans.com/reference/expire-a-snap-session
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import html
import http.client
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any, Final, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from wsgiref.types import StartResponse, WSGIEnvironment

JsonDict = dict[str, Any]

WIB: Final = timezone(timedelta(hours=7), "WIB")
"""Midtrans reports every timestamp in Jakarta time, written without an offset."""

STATUS_CODES: Final[dict[str, str]] = {
    "capture": "200",
    "settlement": "200",
    "authorize": "200",
    "refund": "200",
    "partial_refund": "200",
    "pending": "201",
    "deny": "202",
    "cancel": "202",
    "expire": "202",
    "failure": "202",
}
"""The ``status_code`` Midtrans pairs with each ``transaction_status`` in a webhook notification
(https://docs.midtrans.com/reference/code-2xx). GET status differs: see STATUS_API_CODES."""

STATUS_API_CODES: Final[dict[str, str]] = {**STATUS_CODES, "expire": "407", "cancel": "200"}
"""GET status answers: 407 for an expired transaction, 200 for a cancelled one
(https://docs.midtrans.com/reference/expire-transaction,
https://docs.midtrans.com/reference/cancel-transaction)."""

CHALLENGE_CODE: Final = "201"
"""capture + fraud_status challenge (https://docs.midtrans.com/docs/transaction-status-cycle)."""

MIN_SNAP_EXPIRY: Final = timedelta(minutes=5)
"""Snap refuses a shorter expiry (https://docs.midtrans.com/reference/expire-a-snap-session)."""


def status_code_for(transaction_status: str, fraud_status: str | None, *, status_api: bool) -> str:
    """The ``status_code`` real Midtrans puts next to this status in a webhook (or GET status)."""
    if transaction_status == "capture" and fraud_status == "challenge":
        return CHALLENGE_CODE
    return (STATUS_API_CODES if status_api else STATUS_CODES)[transaction_status]


NOTIFICATION_MESSAGE: Final = "midtrans payment notification"

REDELIVERY: Final[dict[int, int]] = {500: 1, 503: 4, 404: 2}
"""Extra deliveries after a non-2xx answer, when ``redeliver`` is on: the retry policy this
project relies on (a processing failure answers 500 and is retried once, "try again later"
answers 503 and is retried four times, an unknown order id answers 404 and is retried twice).
Midtrans retries non-2xx answers later (https://docs.midtrans.com/docs/https-notification-webhooks,
https://docs.midtrans.com/docs/technical-faq); the exact counts per code are not on a public
page, so the table is this project's assumption and reconciliation covers whatever it misses.
Redeliveries are sent immediately (tests do not wait for Midtrans' back-off)."""
CUSTOMER_ACTIONS: Final = ("choose", "pay", "fail", "expire")

_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
_EXPIRY_START_FORMAT: Final = "%Y-%m-%d %H:%M:%S %z"
_DEFAULT_EXPIRY: Final = timedelta(hours=24)
_EXPIRY_UNITS: Final[dict[str, timedelta]] = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
_ORDER_ID_RE: Final = re.compile(r"[A-Za-z0-9\-_~.]+")
_MAX_ORDER_ID_LENGTH: Final = 50
_SNAP_UNAUTHORIZED: Final = (
    "Access denied due to unauthorized transaction, please check client or server key"
)
_CORE_ROUTE: Final = re.compile(r"/v2/([^/]+)/(status|expire|cancel|refund)")
_PAGE_ROUTE: Final = re.compile(r"/snap/v4/redirection/([^/]+)(?:/([a-z]+))?")
_SIM_TRANSACTION_ROUTE: Final = re.compile(r"/_sim/transactions/([^/]+)(/notify)?")


class TransactionNotFoundError(LookupError):
    """No Snap transaction has this order id (never created here, or the simulator was reset)."""


class TransactionClosedError(RuntimeError):
    """The customer cannot act any more: the transaction already reached a final status."""


class NotificationRecord(TypedDict):
    """One webhook delivery attempt, kept so tests can assert what the shop received/answered."""

    url: str | None
    payload: JsonDict
    response_status: int | None
    response_body: str
    error: str | None
    sent_at: str


@dataclass(frozen=True)
class PaymentMethod:
    """A Snap ``enabled_payments`` code and the Core API ``payment_type`` it turns into."""

    code: str
    label: str
    payment_type: str
    bank: str | None = None
    sends_fraud_status: bool = True
    by_transaction_id_only: bool = False

    def details(self) -> JsonDict:
        """Channel-specific fields Midtrans adds to status bodies and webhooks for this method."""
        if self.payment_type == "bank_transfer" and self.bank == "permata":
            return {"permata_va_number": _digits(16)}
        if self.payment_type == "bank_transfer":
            return {"va_numbers": [{"bank": self.bank, "va_number": _digits(11)}]}
        if self.payment_type == "echannel":
            return {"bill_key": _digits(12), "biller_code": "70012"}
        if self.payment_type == "credit_card":
            return {"masked_card": "48111111-1114", "card_type": "credit", "bank": "bni"}
        return {}


PAYMENT_METHODS: Final[dict[str, PaymentMethod]] = {
    method.code: method
    for method in (
        PaymentMethod("bca_va", "BCA Virtual Account", "bank_transfer", "bca"),
        PaymentMethod("bni_va", "BNI Virtual Account", "bank_transfer", "bni"),
        PaymentMethod("bri_va", "BRI Virtual Account", "bank_transfer", "bri"),
        PaymentMethod("permata_va", "Permata Virtual Account", "bank_transfer", "permata"),
        PaymentMethod("echannel", "Mandiri Bill Payment", "echannel", sends_fraud_status=False),
        PaymentMethod("gopay", "GoPay", "gopay"),
        PaymentMethod("shopeepay", "ShopeePay", "shopeepay"),
        PaymentMethod(
            "dana", "DANA", "dana", sends_fraud_status=False, by_transaction_id_only=True
        ),
        PaymentMethod("other_qris", "QRIS", "qris"),
        PaymentMethod("credit_card", "Kartu Kredit/Debit", "credit_card"),
    )
}
"""Snap codes the payment page offers; codes not listed here are ignored like inactive channels."""


def sign_notification(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """Midtrans ``signature_key``: hex SHA-512 of the four raw strings concatenated.

    Exposed so tests can forge (or deliberately break) notifications exactly as Midtrans signs them.
    """
    raw = f"{order_id}{status_code}{gross_amount}{server_key}"
    return hashlib.sha512(raw.encode("utf-8")).hexdigest()


def _digits(count: int) -> str:
    """Random digit string for VA numbers / bill keys (unique enough for a test run)."""
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


def _now() -> datetime:
    """Current Jakarta time to the second, the resolution Midtrans reports."""
    return datetime.now(WIB).replace(microsecond=0)


def _fmt(moment: datetime) -> str:
    """Midtrans timestamp format: Jakarta local time, no offset."""
    return moment.astimezone(WIB).strftime(_TIME_FORMAT)


def _format_amount(amount: int) -> str:
    """Midtrans sends IDR amounts as strings with two decimals, e.g. ``"499000.00"``."""
    return f"{amount:.2f}"


def _whole_number(value: object) -> int | None:
    """Accept JSON integers (or integral floats) the way Midtrans does for IDR; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass
class _Transaction:
    """Mutable state of one Snap transaction; only touched while holding the simulator lock."""

    order_id: str
    gross_amount: int
    token: str
    redirect_url: str
    request_body: JsonDict
    enabled_payments: list[str]
    finish_url: str | None
    customer_details: JsonDict | None
    created_at: datetime
    expiry_at: datetime | None
    transaction_status: str | None = None
    transaction_id: str | None = None
    transaction_time: datetime | None = None
    settlement_time: datetime | None = None
    payment_method: str | None = None
    payment_type: str | None = None
    fraud_status: str | None = None
    method_details: JsonDict = field(default_factory=dict)
    refunds: list[JsonDict] = field(default_factory=list)
    notifications: list[NotificationRecord] = field(default_factory=list)

    @property
    def by_transaction_id_only(self) -> bool:
        method = PAYMENT_METHODS.get(self.payment_method or "")
        return method is not None and method.by_transaction_id_only

    @property
    def is_open(self) -> bool:
        """Whether the customer (or the merchant's expire/cancel) can still change the outcome."""
        return self.transaction_status in (None, "pending")

    @property
    def expiry_time(self) -> datetime:
        """Custom Snap ``expiry`` if requested, else Midtrans's default 24 hours."""
        if self.expiry_at is not None:
            return self.expiry_at
        return (self.transaction_time or self.created_at) + _DEFAULT_EXPIRY

    def snapshot(self) -> JsonDict:
        """Deep copy safe to hand out after the lock is released."""
        return copy.deepcopy(
            {
                "order_id": self.order_id,
                "gross_amount": self.gross_amount,
                "token": self.token,
                "redirect_url": self.redirect_url,
                "request_body": self.request_body,
                "enabled_payments": self.enabled_payments,
                "expiry": self.request_body.get("expiry"),
                "expiry_time": _fmt(self.expiry_time),
                "finish_url": self.finish_url,
                "customer_details": self.customer_details,
                "created_at": _fmt(self.created_at),
                "transaction_status": self.transaction_status,
                "transaction_id": self.transaction_id,
                "transaction_time": _fmt(self.transaction_time) if self.transaction_time else None,
                "settlement_time": _fmt(self.settlement_time) if self.settlement_time else None,
                "payment_method": self.payment_method,
                "payment_type": self.payment_type,
                "fraud_status": self.fraud_status,
                "method_details": self.method_details,
                "refunds": self.refunds,
                "notifications": self.notifications,
            }
        )


@dataclass
class _Rule:
    """A pending fail-next / delay-next instruction, consumed by matching API requests."""

    remaining: int
    path_prefix: str | None
    status: int = 0
    seconds: float = 0.0

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    location: str | None = None

    @classmethod
    def json(cls, status: int, data: object) -> _Response:
        return cls(status, json.dumps(data).encode("utf-8"))

    @classmethod
    def html(cls, status: int, markup: str) -> _Response:
        return cls(status, markup.encode("utf-8"), "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str) -> _Response:
        """303 so the browser follows the form POST with a GET, as Snap's finish redirect does."""
        return cls(303, b"", "text/plain", location)

    @property
    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Simulated"
        return f"{self.status} {phrase}"

    def headers(self) -> list[tuple[str, str]]:
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        if self.location is not None:
            headers.append(("Location", self.location))
        return headers


class _SnapValidationError(ValueError):
    """All problems found in a Snap request, answered together like Snap's ``error_messages``."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: str
    body: bytes
    authorization: str
    host_url: str

    @classmethod
    def from_environ(cls, environ: WSGIEnvironment) -> _Request:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        return cls(
            method=str(environ["REQUEST_METHOD"]).upper(),
            path=environ.get("PATH_INFO") or "/",
            query=environ.get("QUERY_STRING", ""),
            body=body,
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            host_url=f"{environ['wsgi.url_scheme']}://{host}",
        )

    def json_object(self) -> JsonDict:
        """The body as a JSON object (empty body = ``{}``); ``ValueError`` otherwise."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"Request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("Request body must be a JSON object")
        return data

    def json_or_none(self) -> Any:
        """Best-effort decode for the request log, which must never reject a request."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace")))

    @property
    def basic_auth_user(self) -> str | None:
        """Username of HTTP Basic auth; Midtrans puts the server key there with no password."""
        scheme, _, encoded = self.authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0]


@dataclass(frozen=True)
class _SnapRequest:
    order_id: str
    gross_amount: int
    enabled_payments: list[str]
    finish_url: str | None
    customer_details: JsonDict | None
    expiry_at: datetime | None


def _order_id_errors(order_id: object) -> list[str]:
    if order_id is None or order_id == "":
        return ["transaction_details.order_id is required"]
    if not isinstance(order_id, str) or not _ORDER_ID_RE.fullmatch(order_id):
        return [
            "transaction_details.order_id may only contain alphanumeric, "
            "dash(-), underscore(_), tilde(~), or dot(.)"
        ]
    if len(order_id) > _MAX_ORDER_ID_LENGTH:
        return [f"transaction_details.order_id too long, maximum {_MAX_ORDER_ID_LENGTH} characters"]
    return []


def _item_errors(items: object, gross_amount: int | None) -> list[str]:
    """Item checks, including the sum rule that rejects mismatched totals in production."""
    if not isinstance(items, list):
        return ["item_details must be an array"]
    errors: list[str] = []
    total = 0
    for index, item in enumerate(items):
        prefix = f"item_details[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{prefix} must be an object")
            continue
        price = _whole_number(item.get("price"))
        quantity = _whole_number(item.get("quantity"))
        name = item.get("name")
        if price is None:
            errors.append(f"{prefix}.price must be an integer")
        if quantity is None or quantity <= 0:
            errors.append(f"{prefix}.quantity must be a positive integer")
        if not isinstance(name, str) or not name:
            errors.append(f"{prefix}.name is required")
        if price is not None and quantity is not None:
            total += price * quantity
    if not errors and gross_amount is not None and total != gross_amount:
        errors.append("transaction_details.gross_amount is not equal to the sum of item_details")
    return errors


def _enabled_payments(value: object, errors: list[str]) -> list[str]:
    if value is None:
        return list(PAYMENT_METHODS)
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        errors.append("enabled_payments must be an array of strings")
        return []
    enabled = [code for code in value if code in PAYMENT_METHODS]
    if not enabled:
        errors.append("enabled_payments does not contain any active payment channel")
    return enabled


def _finish_url(callbacks: object, errors: list[str]) -> str | None:
    if callbacks is None:
        return None
    finish = callbacks.get("finish") if isinstance(callbacks, dict) else None
    if not isinstance(callbacks, dict) or not (
        finish is None or (isinstance(finish, str) and urlsplit(finish).scheme in ("http", "https"))
    ):
        errors.append("callbacks.finish must be an http(s) URL")
        return None
    return finish


def _expiry_at(expiry: object, created_at: datetime, errors: list[str]) -> datetime | None:
    """Snap ``expiry``: ``{start_time?, unit, duration}``, start defaulting to token creation."""
    if expiry is None:
        return None
    if not isinstance(expiry, dict):
        errors.append("expiry must be an object")
        return None
    unit = expiry.get("unit")
    step = _EXPIRY_UNITS.get(unit.lower().removesuffix("s")) if isinstance(unit, str) else None
    duration = _whole_number(expiry.get("duration"))
    start = created_at
    start_time = expiry.get("start_time")
    if start_time is not None:
        try:
            start = datetime.strptime(str(start_time), _EXPIRY_START_FORMAT)
        except ValueError:
            errors.append("expiry.start_time must look like 'yyyy-MM-dd HH:mm:ss Z'")
    if step is None:
        errors.append("expiry.unit must be one of second, minute, hour, day")
    if duration is None or duration <= 0:
        errors.append("expiry.duration must be a positive integer")
    if step is None or duration is None:
        return None
    if step * duration < MIN_SNAP_EXPIRY:
        errors.append("expiry duration must be at least 5 minutes")
        return None
    return start + step * duration


def _parse_snap_request(body: JsonDict, created_at: datetime) -> _SnapRequest:
    """Validate like Snap so payloads that production would reject fail in tests too."""
    errors: list[str] = []
    details = body.get("transaction_details")
    if not isinstance(details, dict):
        errors.append("transaction_details is required")
        details = {}
    order_id = details.get("order_id")
    errors.extend(_order_id_errors(order_id))
    gross_amount = _whole_number(details.get("gross_amount"))
    if gross_amount is None or gross_amount <= 0:
        errors.append("transaction_details.gross_amount must be a positive integer")
    if "item_details" in body:
        errors.extend(_item_errors(body["item_details"], gross_amount))
    enabled = _enabled_payments(body.get("enabled_payments"), errors)
    finish_url = _finish_url(body.get("callbacks"), errors)
    expiry_at = _expiry_at(body.get("expiry"), created_at, errors)
    customer = body.get("customer_details")
    if customer is not None and not isinstance(customer, dict):
        errors.append("customer_details must be an object")
    if errors or not isinstance(order_id, str) or gross_amount is None:
        raise _SnapValidationError(errors)
    return _SnapRequest(order_id, gross_amount, enabled, finish_url, customer, expiry_at)


class _NoRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Midtrans does not follow redirects, so a misrouted webhook must show up as a 3xx."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        return None


class MidtransSimulator:
    """In-memory Midtrans (Snap + Core API + payment page + webhooks) as a WSGI callable.

    One lock guards all state because the threaded server runs requests concurrently and the
    shop's webhook handler may call back into the status API while a notification is in
    flight; notifications are therefore always sent *outside* the lock.
    """

    def __init__(
        self,
        server_key: str,
        notification_url: str | None = None,
        *,
        public_base_url: str | None = None,
        http_timeout: float = 5.0,
        merchant_id: str = "G000000001",
    ) -> None:
        """``public_base_url`` prefixes Snap ``redirect_url``; ``None`` = the request's Host.

        ``notification_url`` may be changed later (e.g. once a live test server is up).
        """
        if not server_key:
            raise ValueError("server_key must not be empty")
        self.server_key = server_key
        self.notification_url = notification_url
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.http_timeout = http_timeout
        self.merchant_id = merchant_id
        # Off by default: most tests want exactly one delivery per notification.
        self.redeliver = False
        self._lock = threading.RLock()
        self._transactions: dict[str, _Transaction] = {}
        self._tokens: dict[str, str] = {}
        self._requests: list[JsonDict] = []
        self._fail_rules: list[_Rule] = []
        self._delay_rules: list[_Rule] = []
        self._background: list[threading.Thread] = []
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _NoRedirectHandler()
        )

    # --- WSGI entry point --------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self._dispatch(_Request.from_environ(environ))
        start_response(response.status_line, response.headers())
        return [response.body]

    # --- Python test controls (mirrored under /_sim/) ----------------------------------------

    def fail_next(self, count: int = 1, status: int = 500, path_prefix: str | None = None) -> None:
        """Make the next ``count`` API requests (optionally only under ``path_prefix``) fail."""
        if count < 1 or not 400 <= status <= 599:
            raise ValueError("count must be >= 1 and status an HTTP error code (400-599)")
        with self._lock:
            self._fail_rules.append(_Rule(count, path_prefix, status=status))

    def delay_next(
        self, count: int = 1, seconds: float = 1.0, path_prefix: str | None = None
    ) -> None:
        """Make the next ``count`` API requests sleep ``seconds`` first (client read timeouts)."""
        if count < 1 or seconds < 0:
            raise ValueError("count must be >= 1 and seconds >= 0")
        with self._lock:
            self._delay_rules.append(_Rule(count, path_prefix, seconds=seconds))

    def transaction(self, order_id: str) -> JsonDict | None:
        """Stored state of one order: Snap request body, status, notifications sent."""
        with self._lock:
            tx = self._transactions.get(order_id)
            return tx.snapshot() if tx is not None else None

    @property
    def requests_log(self) -> list[JsonDict]:
        """API requests received so far (method, path, json, auth_user, response_status)."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def reset(self) -> None:
        """Forget transactions, logged requests and pending fail/delay rules."""
        with self._lock:
            self._transactions.clear()
            self._tokens.clear()
            self._requests.clear()
            self._fail_rules.clear()
            self._delay_rules.clear()

    def customer_action(
        self,
        order_id: str,
        action: str,
        payment_method: str | None = None,
        *,
        desktop: bool = False,
    ) -> list[NotificationRecord]:
        """What the customer does on the payment page; returns the notifications sent.

        ``pay``/``fail``/``expire`` choose a method first when none was chosen, sending the
        ``pending`` notification before the final one, exactly the order Midtrans uses.
        ``desktop=True`` with GoPay: the customer scans the QR code with any QRIS app, and
        Midtrans reports ``payment_type: "qris"`` (https://docs.midtrans.com/docs/https-notification-webhooks).
        """
        if action not in CUSTOMER_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(CUSTOMER_ACTIONS)}")
        payloads: list[JsonDict] = []
        with self._lock:
            tx = self._get(order_id)
            if not tx.is_open:
                raise TransactionClosedError(
                    f"Transaction {order_id} is already {tx.transaction_status}"
                )
            if tx.transaction_status is None:
                code = payment_method or tx.enabled_payments[0]
                if code not in tx.enabled_payments:
                    raise ValueError(f"Payment method {code!r} is not enabled for this order")
                self._apply_method(tx, PAYMENT_METHODS[code])
                if desktop and code == "gopay":
                    tx.payment_type = "qris"
                    tx.method_details = {"issuer": "gopay", "acquirer": "gopay"}
                payloads.append(self._body(tx, NOTIFICATION_MESSAGE))
            if action != "choose":
                paid = "capture" if tx.payment_type == "credit_card" else "settlement"
                final = {"pay": paid, "fail": "deny", "expire": "expire"}[action]
                self._set_status(tx, final)
                payloads.append(self._body(tx, NOTIFICATION_MESSAGE))
        return [self._deliver(order_id, payload) for payload in payloads]

    def notify(
        self,
        order_id: str,
        transaction_status: str,
        *,
        fraud_status: str | None = None,
        payment_type: str | None = None,
        gross_amount: str | None = None,
        status_code: str | None = None,
        extra: JsonDict | None = None,
    ) -> NotificationRecord:
        """Move the order to ``transaction_status`` and send a correctly signed notification.

        ``gross_amount``/``status_code`` only alter this payload and its signature (to test
        amount-mismatch handling with a valid signature); ``extra`` is merged in last, after
        signing, so it can also plant a wrong ``signature_key``.
        """
        if transaction_status not in STATUS_CODES:
            raise ValueError(f"Unknown transaction_status {transaction_status!r}")
        with self._lock:
            tx = self._get(order_id)
            if tx.transaction_status is None or (
                payment_type is not None and payment_type != tx.payment_type
            ):
                self._apply_method(tx, self._method_for(tx, payment_type))
            self._set_status(tx, transaction_status)
            if fraud_status is not None:
                tx.fraud_status = fraud_status
            payload = self._body(
                tx, NOTIFICATION_MESSAGE, status_code=status_code, gross_amount=gross_amount
            )
            payload.update(copy.deepcopy(extra or {}))
        return self._deliver(order_id, payload)

    def wait_for_notifications(self, timeout: float = 5.0) -> bool:
        """Wait for notifications sent in the background (after expire/cancel API calls).

        Returns ``False`` if some are still in flight after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._background)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._background = [thread for thread in self._background if thread.is_alive()]
            return not self._background

    def refund(
        self, order_id: str, amount: int | None = None, *, reason: str = "", by: str | None = None
    ) -> list[NotificationRecord]:
        """A refund of a settled transaction (from the Midtrans dashboard, or the refund API
        through ``by`` = the id the API was called with). Midtrans notifies it twice: first
        without, then with ``refunds[].bank_confirmed_at``; both bodies carry the same
        refund and are signed with the same status code
        (https://docs.midtrans.com/reference-link/refund-transaction)."""
        with self._lock:
            tx = self._get(order_id)
            first, second = self._refund_apply(tx, amount, reason)
        return [self._deliver(order_id, first), self._deliver(order_id, second)]

    def _refund_apply(
        self, tx: _Transaction, amount: int | None, reason: str
    ) -> tuple[JsonDict, JsonDict]:
        if tx.transaction_status not in ("settlement", "capture", "partial_refund"):
            raise TransactionClosedError(
                f"Transaction {tx.order_id} is {tx.transaction_status}, not settled"
            )
        refunded = sum(int(float(r["refund_amount"])) for r in tx.refunds)
        amount = amount if amount is not None else tx.gross_amount - refunded
        if amount <= 0 or refunded + amount > tx.gross_amount:
            raise ValueError("refund amount must be positive and at most what is left")
        tx.refunds.append(
            {
                "refund_chargeback_id": len(tx.refunds) + 1,
                "refund_amount": _format_amount(amount),
                "created_at": _fmt(_now()),
                "reason": reason,
                "refund_key": str(uuid.uuid4()),
                "refund_method": "",
            }
        )
        tx.transaction_status = (
            "refund" if refunded + amount == tx.gross_amount else "partial_refund"
        )
        first = self._body(tx, NOTIFICATION_MESSAGE)
        tx.refunds[-1]["bank_confirmed_at"] = _fmt(_now())
        second = self._body(tx, NOTIFICATION_MESSAGE)
        return first, second

    def _refund_request(self, ident: str, body: JsonDict) -> _Response:
        """Core API refund; DANA only by transaction_id (https://docs.midtrans.com/reference/dana)."""
        amount = _whole_number(body.get("amount")) if "amount" in body else None
        with self._lock:
            tx = self._lookup(ident)
            if tx is None:
                return _transaction_not_found()
            try:
                first, second = self._refund_apply(tx, amount, str(body.get("reason", "")))
            except TransactionClosedError:
                return _Response.json(
                    200,
                    {
                        "status_code": "412",
                        "status_message": "Merchant cannot modify the status of the transaction",
                    },
                )
            except ValueError as exc:
                return _Response.json(200, {"status_code": "400", "status_message": str(exc)})
            answer = {**self._body(tx, "Success, refund request is approved", status_api=True)}
            answer.pop("signature_key", None)
            order_id = tx.order_id
        self._deliver_in_background(order_id, first)
        self._deliver_in_background(order_id, second)
        return _Response.json(200, answer)

    # --- State helpers (call with the lock held) ---------------------------------------------

    def _get(self, order_id: str) -> _Transaction:
        tx = self._transactions.get(order_id)
        if tx is None:
            raise TransactionNotFoundError(f"Unknown order_id {order_id!r}")
        return tx

    def _lookup(self, ident: str) -> _Transaction | None:
        """Core API paths accept an order id or a transaction id (the SDK uses both)."""
        tx = self._transactions.get(ident)
        if tx is not None and not tx.by_transaction_id_only:
            return tx
        return next((t for t in self._transactions.values() if t.transaction_id == ident), None)

    @staticmethod
    def _method_for(tx: _Transaction, payment_type: str | None) -> PaymentMethod:
        """Method for a forced notification: the chosen/first enabled one, or by payment_type."""
        if payment_type is None:
            return PAYMENT_METHODS[tx.payment_method or tx.enabled_payments[0]]
        codes = [*tx.enabled_payments, *PAYMENT_METHODS]
        matching = (PAYMENT_METHODS[c] for c in codes)
        return next(
            (method for method in matching if method.payment_type == payment_type),
            PaymentMethod(payment_type, payment_type, payment_type),
        )

    @staticmethod
    def _mark_started(tx: _Transaction) -> None:
        """A Midtrans transaction (id + time) exists from the first customer/merchant action."""
        if tx.transaction_id is None:
            tx.transaction_id = str(uuid.uuid4())
            tx.transaction_time = _now()

    def _apply_method(self, tx: _Transaction, method: PaymentMethod) -> None:
        self._mark_started(tx)
        tx.payment_method = method.code
        tx.payment_type = method.payment_type
        tx.method_details = method.details()
        tx.fraud_status = "accept" if method.sends_fraud_status else None
        if tx.transaction_status is None:
            tx.transaction_status = "pending"

    @staticmethod
    def _set_status(tx: _Transaction, status: str) -> None:
        tx.transaction_status = status
        if status == "settlement" and tx.settlement_time is None:
            tx.settlement_time = _now()

    def _body(
        self,
        tx: _Transaction,
        status_message: str,
        *,
        status_code: str | None = None,
        gross_amount: str | None = None,
        status_api: bool = False,
    ) -> JsonDict:
        """Status-API / webhook body for the current state, signed over the values it carries."""
        status = tx.transaction_status
        if status is None or tx.transaction_time is None:
            raise TransactionNotFoundError(f"Transaction {tx.order_id} has not started")
        code = status_code or status_code_for(status, tx.fraud_status, status_api=status_api)
        amount = gross_amount or _format_amount(tx.gross_amount)
        body: JsonDict = {
            "status_code": code,
            "status_message": status_message,
            "transaction_id": tx.transaction_id,
            "order_id": tx.order_id,
            "merchant_id": self.merchant_id,
            "gross_amount": amount,
            "currency": "IDR",
            "transaction_time": _fmt(tx.transaction_time),
            "transaction_status": status,
            "expiry_time": _fmt(tx.expiry_time),
        }
        if tx.payment_type is not None:
            body["payment_type"] = tx.payment_type
        if tx.fraud_status is not None:
            body["fraud_status"] = tx.fraud_status
        if tx.settlement_time is not None:
            body["settlement_time"] = _fmt(tx.settlement_time)
        body.update(copy.deepcopy(tx.method_details))
        if tx.refunds:
            body["refund_amount"] = _format_amount(
                sum(int(float(r["refund_amount"])) for r in tx.refunds)
            )
            body["refunds"] = copy.deepcopy(tx.refunds)
        body["signature_key"] = sign_notification(tx.order_id, code, amount, self.server_key)
        return body

    def _take_rule(self, rules: list[_Rule], path: str) -> _Rule | None:
        with self._lock:
            rule = next((r for r in rules if r.matches(path)), None)
            if rule is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    rules.remove(rule)
            return rule

    # --- Webhook delivery (never with the lock held) -----------------------------------------

    def _deliver(self, order_id: str, payload: JsonDict) -> NotificationRecord:
        """POST the notification synchronously and remember how the shop answered."""
        url = self.notification_url
        record = NotificationRecord(
            url=url,
            payload=payload,
            response_status=None,
            response_body="",
            error=None,
            sent_at=_fmt(_now()),
        )
        if url is None:
            record["error"] = "notification_url is not configured"
        elif urlsplit(url).scheme not in ("http", "https"):
            record["error"] = f"notification_url must be http(s), got {url!r}"
        else:
            self._post(url, payload, record)
        records = [record]
        retries = REDELIVERY.get(record["response_status"] or 0, 0) if self.redeliver else 0
        for _ in range(retries):
            again = NotificationRecord(
                url=url,
                payload=payload,
                response_status=None,
                response_body="",
                error=None,
                sent_at=_fmt(_now()),
            )
            self._post(url or "", payload, again)
            records.append(again)
            if again["response_status"] is not None and 200 <= again["response_status"] < 300:
                break
        with self._lock:
            tx = self._transactions.get(order_id)
            if tx is not None:
                tx.notifications.extend(copy.deepcopy(r) for r in records)
        return records[-1]

    def _post(self, url: str, payload: JsonDict, record: NotificationRecord) -> None:
        request = urllib.request.Request(  # noqa: S310 - scheme checked to be http(s) by caller
            url,
            data=json.dumps(payload).encode("utf-8"),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "Veritrans",
            },
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.http_timeout) as response:
                record["response_status"] = response.status
                record["response_body"] = response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            with exc:
                record["response_status"] = exc.code
                record["response_body"] = exc.read(2000).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"

    def _deliver_in_background(self, order_id: str, payload: JsonDict) -> None:
        """Merchant-initiated changes notify asynchronously, like Midtrans.

        Synchronous delivery could deadlock a caller that holds a DB lock the webhook needs.
        """
        thread = threading.Thread(
            target=self._deliver, args=(order_id, payload), name="midtrans-sim-notify", daemon=True
        )
        with self._lock:
            self._background.append(thread)
        thread.start()

    # --- Routing ------------------------------------------------------------------------------

    def _dispatch(self, request: _Request) -> _Response:
        if request.path.startswith("/_sim/"):
            return self._handle_control(request)
        if request.path.startswith(("/snap/v1/", "/v2/")):
            return self._handle_api(request)
        if request.path.startswith("/snap/v4/redirection/"):
            return self._handle_page(request)
        return _Response.json(404, {"status_code": "404", "status_message": "Not found"})

    def _handle_api(self, request: _Request) -> _Response:
        """Log, apply delay/failure rules, then route to the Snap or Core API imitation."""
        entry: JsonDict = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "json": request.json_or_none(),
            "auth_user": request.basic_auth_user,
            "received_at": _fmt(_now()),
            "response_status": None,
        }
        with self._lock:
            self._requests.append(entry)
        delay = self._take_rule(self._delay_rules, request.path)
        if delay is not None:
            time.sleep(delay.seconds)
        failure = self._take_rule(self._fail_rules, request.path)
        if failure is not None:
            response = self._simulated_failure(request.path, failure.status)
        else:
            response = self._route_api(request)
        with self._lock:
            entry["response_status"] = response.status
        return response

    @staticmethod
    def _simulated_failure(path: str, status: int) -> _Response:
        message = f"Simulated HTTP {status} from the Midtrans simulator"
        if path.startswith("/snap/"):
            return _Response.json(status, {"error_messages": [message]})
        return _Response.json(status, {"status_code": str(status), "status_message": message})

    def _route_api(self, request: _Request) -> _Response:
        authorized = request.basic_auth_user == self.server_key
        if request.path == "/snap/v1/transactions":
            if request.method != "POST":
                return _Response.json(405, {"error_messages": ["Method not allowed"]})
            if not authorized:
                return _Response.json(401, {"error_messages": [_SNAP_UNAUTHORIZED]})
            return self._create_transaction(request)
        match = _CORE_ROUTE.fullmatch(request.path)
        if match is None:
            return _Response.json(
                404, {"status_code": "404", "status_message": "The requested resource is not found"}
            )
        if not authorized:
            return _Response.json(
                401, {"status_code": "401", "status_message": "Unknown Merchant server_key/id"}
            )
        ident, action = match.groups()
        if request.method != ("GET" if action == "status" else "POST"):
            return _Response.json(
                405, {"status_code": "405", "status_message": "Method not allowed"}
            )
        if action == "status":
            return self._status(ident)
        if action == "refund":
            try:
                body = request.json_object()
            except ValueError as exc:
                return _Response.json(200, {"status_code": "400", "status_message": str(exc)})
            return self._refund_request(ident, body)
        return self._modify(ident, action)

    def _create_transaction(self, request: _Request) -> _Response:
        created_at = _now()
        try:
            body = request.json_object()
            snap = _parse_snap_request(body, created_at)
        except _SnapValidationError as exc:
            return _Response.json(400, {"error_messages": exc.messages})
        except ValueError as exc:
            return _Response.json(400, {"error_messages": [str(exc)]})
        base = self.public_base_url or request.host_url
        with self._lock:
            existing = self._transactions.get(snap.order_id)
            if existing is not None and existing.transaction_status is not None:
                # https://docs.midtrans.com/docs/error-code-and-response-code
                return _Response.json(
                    400, {"error_messages": ["transaction_details.order_id sudah digunakan"]}
                )
            if existing is not None:
                # No method picked yet: Snap hands out a fresh token for the same transaction.
                token = str(uuid.uuid4())
                existing.token = token
                existing.redirect_url = f"{base}/snap/v4/redirection/{token}"
                self._tokens[token] = snap.order_id
                return _Response.json(201, {"token": token, "redirect_url": existing.redirect_url})
            token = str(uuid.uuid4())
            redirect_url = f"{base}/snap/v4/redirection/{token}"
            self._transactions[snap.order_id] = _Transaction(
                order_id=snap.order_id,
                gross_amount=snap.gross_amount,
                token=token,
                redirect_url=redirect_url,
                request_body=copy.deepcopy(body),
                enabled_payments=snap.enabled_payments,
                finish_url=snap.finish_url,
                customer_details=copy.deepcopy(snap.customer_details),
                created_at=created_at,
                expiry_at=snap.expiry_at,
            )
            self._tokens[token] = snap.order_id
        return _Response.json(201, {"token": token, "redirect_url": redirect_url})

    def _status(self, ident: str) -> _Response:
        with self._lock:
            tx = self._lookup(ident)
            # Real Midtrans has no transaction until the customer picks a payment method.
            if tx is None or tx.transaction_status is None:
                return _transaction_not_found()
            return _Response.json(
                200, self._body(tx, "Success, transaction is found", status_api=True)
            )

    def _modify(self, ident: str, action: str) -> _Response:
        """Merchant expire/cancel: allowed only while nothing final has happened. DANA has no
        expire API (https://docs.midtrans.com/reference/dana)."""
        with self._lock:
            tx = self._lookup(ident)
            if tx is None:
                return _transaction_not_found()
            if action == "expire" and tx.by_transaction_id_only:
                return _Response.json(
                    200,
                    {
                        "status_code": "412",
                        "status_message": "Expire is not supported for this payment type",
                        "id": str(uuid.uuid4()),
                    },
                )
            if not tx.is_open:
                return _Response.json(
                    200,
                    {
                        "status_code": "412",
                        "status_message": "Merchant cannot modify the status of the transaction",
                        "id": str(uuid.uuid4()),
                    },
                )
            self._mark_started(tx)
            if action == "expire":
                self._set_status(tx, "expire")
                body = self._body(tx, "Success, transaction is expired", status_code="407")
            else:
                self._set_status(tx, "cancel")
                body = self._body(tx, "Success, transaction is canceled", status_code="200")
            payload = self._body(tx, NOTIFICATION_MESSAGE)
            order_id = tx.order_id
        self._deliver_in_background(order_id, payload)
        return _Response.json(200, body)

    def _handle_page(self, request: _Request) -> _Response:
        match = _PAGE_ROUTE.fullmatch(request.path)
        with self._lock:
            order_id = self._tokens.get(match.group(1)) if match else None
            tx = self._transactions.get(order_id) if order_id else None
            if match is None or tx is None:
                return _Response.html(
                    404, _page("Tidak ditemukan", _paragraph("Token tidak dikenal."))
                )
            action = match.group(2)
            if action is None:
                if request.method != "GET":
                    return _Response.html(405, _page("Metode salah", _paragraph("Gunakan GET.")))
                return _Response.html(200, _payment_page(tx))
        if action not in CUSTOMER_ACTIONS or request.method != "POST":
            return _Response.html(404, _page("Tidak ditemukan", _paragraph("Aksi tidak dikenal.")))
        try:
            method = request.form().get("payment_method") or None
            self.customer_action(tx.order_id, action, method)
        except TransactionNotFoundError as exc:  # reset() raced with the customer
            return _Response.html(404, _page("Tidak ditemukan", _paragraph(str(exc))))
        except TransactionClosedError as exc:
            return _Response.html(409, _page("Transaksi selesai", _paragraph(str(exc))))
        except ValueError as exc:
            return _Response.html(400, _page("Permintaan salah", _paragraph(str(exc))))
        with self._lock:
            if tx.finish_url is None:
                return _Response.html(200, _result_page(tx))
            status = tx.transaction_status or "pending"
            query = {
                "order_id": tx.order_id,
                "status_code": STATUS_CODES[status],
                "transaction_status": status,
            }
            return _Response.redirect(_append_query(tx.finish_url, query))

    def _handle_control(self, request: _Request) -> _Response:
        try:
            return self._route_control(request)
        except TransactionNotFoundError as exc:
            return _Response.json(404, {"error": str(exc)})
        except (ValueError, TypeError) as exc:
            return _Response.json(400, {"error": str(exc)})

    def _route_control(self, request: _Request) -> _Response:
        route = (request.method, request.path)
        if route == ("POST", "/_sim/fail-next"):
            body = request.json_object()
            self.fail_next(
                int(body.get("count", 1)),
                int(body.get("status", 500)),
                _optional_str(body, "path_prefix"),
            )
            return _Response.json(200, {"ok": True})
        if route == ("POST", "/_sim/delay-next"):
            body = request.json_object()
            self.delay_next(
                int(body.get("count", 1)),
                float(body.get("seconds", 1.0)),
                _optional_str(body, "path_prefix"),
            )
            return _Response.json(200, {"ok": True})
        if route == ("GET", "/_sim/requests"):
            return _Response.json(200, self.requests_log)
        if route == ("POST", "/_sim/reset"):
            self.reset()
            return _Response.json(200, {"ok": True})
        match = _SIM_TRANSACTION_ROUTE.fullmatch(request.path)
        if match is not None and request.method == ("POST" if match.group(2) else "GET"):
            order_id = match.group(1)
            if match.group(2):
                return _Response.json(200, self._notify_from_request(order_id, request))
            snapshot = self.transaction(order_id)
            if snapshot is None:
                raise TransactionNotFoundError(f"Unknown order_id {order_id!r}")
            return _Response.json(200, snapshot)
        message = f"No simulator control {request.method} {request.path}"
        return _Response.json(404, {"error": message})

    def _notify_from_request(self, order_id: str, request: _Request) -> NotificationRecord:
        body = request.json_object()
        extra = body.get("extra")
        if extra is not None and not isinstance(extra, dict):
            raise ValueError("extra must be an object")
        return self.notify(
            order_id,
            _optional_str(body, "transaction_status") or "",
            fraud_status=_optional_str(body, "fraud_status"),
            payment_type=_optional_str(body, "payment_type"),
            gross_amount=_optional_str(body, "gross_amount"),
            status_code=_optional_str(body, "status_code"),
            extra=extra,
        )


def _optional_str(body: JsonDict, key: str) -> str | None:
    """Type-check an optional string field of a control request (400 otherwise)."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _transaction_not_found() -> _Response:
    """Core API answers HTTP 200 with the 404 in the body
    (https://docs.midtrans.com/reference/get-transaction-status)."""
    return _Response.json(
        200, {"status_code": "404", "status_message": "Transaction doesn't exist."}
    )


def _append_query(url: str, params: dict[str, str]) -> str:
    """Add Snap's finish-redirect parameters while keeping any query the merchant put there."""
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))


def _paragraph(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def _page(title: str, content: str) -> str:
    return (
        '<!doctype html>\n<html lang="id"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - Simulator Midtrans</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}"
        "<p><small>Simulator Midtrans - hanya untuk pengembangan dan pengujian.</small></p>"
        "</body></html>\n"
    )


def _method_details_html(tx: _Transaction) -> str:
    details = tx.method_details
    rows: list[tuple[str, str]] = [
        (f"Nomor VA {str(va['bank']).upper()}", str(va["va_number"]))
        for va in details.get("va_numbers", [])
    ]
    if "permata_va_number" in details:
        rows.append(("Nomor VA Permata", str(details["permata_va_number"])))
    if "bill_key" in details:
        rows.append(("Kode perusahaan", str(details["biller_code"])))
        rows.append(("Kode bayar", str(details["bill_key"])))
    return "".join(
        f'<p>{html.escape(label)}: <strong class="sim-detail">{html.escape(value)}</strong></p>'
        for label, value in rows
    )


def _summary_html(tx: _Transaction) -> str:
    return (
        f'<p>Order ID: <strong id="sim-order-id">{html.escape(tx.order_id)}</strong></p>'
        f'<p>Total: <strong id="sim-amount">{_rupiah(tx.gross_amount)}</strong></p>'
        f'<p>Status: <strong id="sim-status">{html.escape(tx.transaction_status or "-")}'
        "</strong></p>"
    )


def _payment_page(tx: _Transaction) -> str:
    """Snap-like page; ids/names are stable because browser tests click them."""
    base = f"/snap/v4/redirection/{html.escape(tx.token)}"
    chosen = tx.payment_method
    codes = [chosen] if chosen else tx.enabled_payments
    options = "".join(
        f'<option value="{html.escape(code)}"{" selected" if code == chosen else ""}>'
        f"{html.escape(PAYMENT_METHODS[code].label if code in PAYMENT_METHODS else code)}</option>"
        for code in codes
    )
    disabled = "" if tx.is_open else " disabled"
    buttons = "".join(
        f'<button type="submit" id="sim-{action}" name="action" value="{action}" '
        f'formaction="{base}/{action}"{disabled}>{label}</button> '
        for action, label in (
            ("choose", "Pilih metode"),
            ("pay", "Bayar"),
            ("fail", "Gagal"),
            ("expire", "Biarkan kedaluwarsa"),
        )
    )
    form = (
        f'<form id="sim-form" method="post" action="{base}/choose">'
        '<label for="sim-method">Metode pembayaran</label> '
        f'<select id="sim-method" name="payment_method"{disabled}>{options}</select>'
        f"<p>{buttons}</p></form>"
    )
    return _page("Pembayaran", _summary_html(tx) + _method_details_html(tx) + form)


def _result_page(tx: _Transaction) -> str:
    """Shown instead of the finish redirect when the merchant gave no ``callbacks.finish``."""
    return _page("Hasil pembayaran", _summary_html(tx) + _method_details_html(tx))
