"""The one way this site talks to Midtrans: a thin wrapper around the official `midtransclient`.

Why a wrapper: the SDK sends requests without any timeout and reports every problem as one
exception type. Here every request has a (connect, read) timeout, connection errors, timeouts
and 5xx answers are retried a bounded number of times with backoff (4xx never: Midtrans has
decided), and callers see three outcomes: a result, `MidtransUnavailable` (try again later) or
`MidtransRejected` (the request itself is wrong). Base URLs come from settings so development
and tests talk to the local simulator through the real SDK over real HTTP.

One wall-clock deadline covers a whole call (connect, every read and every retry): per-read
timeouts alone never fire against a server that trickles a byte every few seconds. A timer
shuts the call's sockets down when the deadline passes, which ends whatever read is blocked
(plain HTTP and TLS alike). A circuit breaker (`payments.circuit`) around every call makes an
outage fail at once instead of every customer waiting out the deadline.

The server key is sent as HTTP Basic auth by the SDK and never logged: log lines carry only
the operation, the Midtrans order id, HTTP status codes and Midtrans' own error messages.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import midtransclient
import requests
from django.conf import settings
from midtransclient.error_midtrans import JSONDecodeError as SdkJSONDecodeError
from midtransclient.error_midtrans import MidtransAPIError
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from buatfilm.metrics import timed_midtrans_call
from buatfilm.sessions import EnvironmentOnceSession, shared_session
from payments.circuit import CircuitBreaker, CircuitOpen, Ticket

logger = logging.getLogger(__name__)

# The customer waits for `create_snap_transaction` inside a web request: the whole call
# (connect, reads, retries) ends by this deadline, well below gunicorn's 30 s worker timeout.
# No retry starts unless a full request (connect + read timeout) still fits in what is left.
DEADLINE_SECONDS = 15.0
BACKOFF_BASE_SECONDS = 0.2

# Status answers "Transaction doesn't exist" with 404 (as HTTP status or, on the real API, as
# the body's status_code) until the customer has picked a payment method.
_NOT_FOUND = 404
# Snap answers an order id it has seen with a fresh token while the customer has not picked a
# method, else 400 "order_id sudah digunakan" (older answers: 406). After a timed-out first
# try that means "the first request did reach Midtrans", whose token we cannot get:
# unavailable. https://docs.midtrans.com/docs/error-code-and-response-code
_DUPLICATE_ORDER_ID = frozenset({400, 406})


class MidtransError(Exception):
    """Base class of everything this module raises."""


class MidtransUnavailable(MidtransError):
    """Midtrans could not be reached or kept failing (connection error, timeout, 5xx) after
    the bounded retries. The request may or may not have taken effect at Midtrans."""


class MidtransRejected(MidtransError):
    """Midtrans answered with a 4xx (or a body status_code >= 400): the request is wrong and
    retrying it unchanged will not help."""

    def __init__(
        self, message: str, *, http_status: int, messages: list[str], from_midtrans: bool = True
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.messages = messages
        # False when the answer was not Midtrans JSON (a proxy page, a wrong base URL).
        self.from_midtrans = from_midtrans


class _ServerError(Exception):
    """A 5xx answer, raised by the session before the SDK tries to parse it."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _NotJSON(Exception):
    """A non-5xx answer whose body is not JSON (a proxy page, a misrouted URL)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status} with a non-JSON body")
        self.status = status


class _DeadlineExpired(Exception):
    """The call's wall-clock deadline passed (its sockets were shut down)."""


class _Deadline:
    """One call's deadline: the sockets it opened or reused, shut down by `expire()` (run by a
    timer thread) so that a read blocked on a trickling server returns at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # The plain socket method, also for an SSLSocket: it acts on the file descriptor (which
    # wakes a blocked read) without touching the TLS state another thread is using.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()


def _watch(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _DeadlineConnectionMixin:
    """urllib3 connections that hand every socket they use to the current call's deadline:
    the raw socket as soon as it exists (a TLS handshake can trickle too), the connected
    (maybe TLS) socket, and a kept-alive socket when a later call reuses it."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    pass


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS  # instance attribute

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager


class TimeoutSession(EnvironmentOnceSession):
    """A `requests.Session` that puts an explicit timeout on every request and obeys the
    current call's wall-clock deadline.

    Installed as `sdk.http_client.http_client`, which the SDK calls as
    `.request(method, url, auth=..., data=..., headers=..., ...)` without a timeout. The
    (connect, read) timeouts are cut to what is left of the deadline. It also turns 5xx and
    non-JSON answers into exceptions so they are classified by status, not by whatever the SDK
    makes of the body."""

    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        super().__init__()
        self.timeout = (connect_timeout, read_timeout)
        adapter = _DeadlineAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        deadline: _Deadline | None = getattr(_current, "deadline", None)
        connect_timeout, read_timeout = self.timeout
        clipped = False
        if deadline is not None:
            left = deadline.remaining()
            if left <= 0 or deadline.expired:
                raise _DeadlineExpired
            clipped = left < max(connect_timeout, read_timeout)
            connect_timeout, read_timeout = min(connect_timeout, left), min(read_timeout, left)
        kwargs["timeout"] = (connect_timeout, read_timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception as exc:
            # A timeout cut to what was left of the deadline is the deadline passing.
            if deadline is not None and (
                deadline.expired or (clipped and isinstance(exc, requests.Timeout))
            ):
                raise _DeadlineExpired from exc
            raise
        if deadline is not None and deadline.expired:
            raise _DeadlineExpired
        if response.status_code >= 500:
            raise _ServerError(response.status_code)
        try:
            response.json()
        except ValueError as exc:
            raise _NotJSON(response.status_code) from exc
        return response


def _error_messages(body: dict[str, Any] | None) -> list[str]:
    """Midtrans' own words: Snap uses `error_messages`, Core `status_message`."""
    if not isinstance(body, dict):
        return []
    messages = body.get("error_messages")
    if isinstance(messages, list):
        return [str(m)[:300] for m in messages]
    if body.get("status_message"):
        return [str(body["status_message"])[:300]]
    return []


def _effective_status(exc: MidtransAPIError) -> int:
    """The real API sometimes answers HTTP 200 with `status_code: "404"` in the body."""
    body = exc.api_response_dict if isinstance(exc.api_response_dict, dict) else {}
    try:
        body_status = int(body.get("status_code", 0))
    except (TypeError, ValueError):
        body_status = 0
    if exc.http_status_code < 400 and body_status >= 400:
        return body_status
    return exc.http_status_code


class MidtransGateway:
    """Snap (create transaction) and Core API (status, expire, cancel) with timeouts, bounded
    retries and a small error vocabulary. Build one with `get_gateway()`."""

    def __init__(
        self,
        *,
        server_key: str,
        client_key: str = "",
        is_production: bool = False,
        snap_base_url: str = "",
        api_base_url: str = "",
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        max_retries: int = 2,
        backoff_seconds: float = BACKOFF_BASE_SECONDS,
        deadline_seconds: float = DEADLINE_SECONDS,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.max_retries = max(0, max_retries)
        self.backoff_seconds = backoff_seconds
        self.deadline_seconds = deadline_seconds
        self.breaker = breaker
        self.request_seconds = connect_timeout + read_timeout
        # One kept-alive session per process and timeouts, shared by every gateway (and thread).
        self.session = shared_session(
            ("midtrans", connect_timeout, read_timeout),
            functools.partial(
                TimeoutSession, connect_timeout=connect_timeout, read_timeout=read_timeout
            ),
        )
        self.snap = midtransclient.Snap(
            is_production=is_production, server_key=server_key, client_key=client_key
        )
        self.core = midtransclient.CoreApi(
            is_production=is_production, server_key=server_key, client_key=client_key
        )
        # Instance attributes shadow the SDK's class-level URLs for this gateway only.
        if snap_base_url:
            self.snap.api_config.SNAP_SANDBOX_BASE_URL = snap_base_url.rstrip("/")
            self.snap.api_config.SNAP_PRODUCTION_BASE_URL = snap_base_url.rstrip("/")
        if api_base_url:
            self.core.api_config.CORE_SANDBOX_BASE_URL = api_base_url.rstrip("/")
            self.core.api_config.CORE_PRODUCTION_BASE_URL = api_base_url.rstrip("/")
        self.snap.http_client.http_client = self.session
        self.core.http_client.http_client = self.session

    def __repr__(self) -> str:  # the SDK's ApiConfig repr contains the server key
        return f"<MidtransGateway snap={self.snap.api_config.get_snap_base_url()}>"

    # --- Public interface ---------------------------------------------------------------------

    def create_snap_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        """Create a Snap transaction; returns Midtrans' answer (`token`, `redirect_url`).

        Raises `MidtransUnavailable` or `MidtransRejected`."""
        order_id = str(params.get("transaction_details", {}).get("order_id", ""))
        return self._call("snap_create", order_id, lambda: self.snap.create_transaction(params))

    def get_status(self, midtrans_order_id: str) -> dict[str, Any] | None:
        """The transaction status, or None when Midtrans has no transaction yet (404: the
        customer has not picked a payment method, which is "not started", not an error).

        Raises `MidtransUnavailable` or `MidtransRejected`."""
        try:
            return self._call(
                "status",
                midtrans_order_id,
                lambda: self.core.transactions.status(midtrans_order_id),
            )
        except MidtransRejected as exc:
            if exc.http_status == _NOT_FOUND and exc.from_midtrans:
                return None
            raise

    def expire(self, midtrans_order_id: str) -> dict[str, Any]:
        """Ask Midtrans to expire a pending transaction. Raises `MidtransUnavailable` or
        `MidtransRejected` (e.g. 404 unknown, 412 already final)."""
        return self._call(
            "expire", midtrans_order_id, lambda: self.core.transactions.expire(midtrans_order_id)
        )

    def cancel(self, midtrans_order_id: str) -> dict[str, Any]:
        """Ask Midtrans to cancel a transaction. Raises `MidtransUnavailable` or
        `MidtransRejected` (e.g. 404 unknown, 412 already final)."""
        return self._call(
            "cancel", midtrans_order_id, lambda: self.core.transactions.cancel(midtrans_order_id)
        )

    # --- Circuit breaker, deadline and retry loop ----------------------------------------------

    @timed_midtrans_call
    def _call(
        self, operation: str, midtrans_order_id: str, send: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        ticket = Ticket()
        if self.breaker is not None:
            try:
                ticket = self.breaker.acquire()
            except CircuitOpen as exc:
                logger.warning("midtrans %s %s not sent: %s", operation, midtrans_order_id, exc)
                raise MidtransUnavailable(f"midtrans {operation}: {exc}") from exc
        try:
            answer = self._call_before_deadline(operation, midtrans_order_id, send)
        except MidtransUnavailable as exc:
            if self.breaker is not None:
                self.breaker.record_failure(ticket, str(exc))
            raise
        except MidtransRejected:
            if self.breaker is not None:
                self.breaker.record_success(ticket)  # Midtrans answered: it is up
            raise
        except BaseException:
            if self.breaker is not None and ticket.probe:
                self.breaker.record_failure(ticket, "probe interrupted")
            raise
        if self.breaker is not None:
            self.breaker.record_success(ticket)
        return answer

    def _call_before_deadline(
        self, operation: str, midtrans_order_id: str, send: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        deadline = _Deadline(self.deadline_seconds)
        timer = threading.Timer(self.deadline_seconds, deadline.expire)
        timer.daemon = True
        previous = getattr(_current, "deadline", None)
        _current.deadline = deadline
        timer.start()
        try:
            return self._retry_loop(operation, midtrans_order_id, send, deadline)
        except _DeadlineExpired as exc:
            logger.warning(
                "midtrans %s %s: deadline of %.1f s passed",
                operation,
                midtrans_order_id,
                self.deadline_seconds,
            )
            raise MidtransUnavailable(
                f"midtrans {operation} {midtrans_order_id}: "
                f"deadline of {self.deadline_seconds:.1f} s passed"
            ) from exc
        finally:
            timer.cancel()
            _current.deadline = previous

    def _retry_loop(
        self,
        operation: str,
        midtrans_order_id: str,
        send: Callable[[], dict[str, Any]],
        deadline: _Deadline,
    ) -> dict[str, Any]:
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = self.backoff_seconds * 2 ** (attempt - 1) * (1 + random.random() / 4)  # noqa: S311
                if delay + self.request_seconds > deadline.remaining():
                    logger.warning(
                        "midtrans %s %s: no time left for retry %s",
                        operation,
                        midtrans_order_id,
                        attempt,
                    )
                    break
                time.sleep(delay)
            try:
                return send()
            except _DeadlineExpired:
                raise
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = type(exc).__name__
            except _ServerError as exc:
                last_problem = f"HTTP {exc.status}"
            except _NotJSON as exc:
                raise self._rejected(
                    operation, midtrans_order_id, exc.status, [str(exc)], from_midtrans=False
                ) from exc
            except SdkJSONDecodeError as exc:  # the SDK's own check; unreachable with our session
                raise MidtransUnavailable(f"midtrans {operation}: unreadable answer") from exc
            except MidtransAPIError as exc:
                status = _effective_status(exc)
                messages = _error_messages(exc.api_response_dict)
                reused = status in _DUPLICATE_ORDER_ID and any("order_id" in m for m in messages)
                if reused and attempt and operation == "snap_create":
                    # Our earlier try reached Midtrans after all; its token is lost to us.
                    last_problem = f"HTTP {status} (order id used) after a failed first try"
                    break
                if status >= 500:
                    last_problem = f"HTTP {status}"
                else:
                    raise self._rejected(operation, midtrans_order_id, status, messages) from exc
            logger.warning(
                "midtrans %s %s failed (try %s of %s): %s",
                operation,
                midtrans_order_id,
                attempt + 1,
                self.max_retries + 1,
                last_problem,
            )
        raise MidtransUnavailable(f"midtrans {operation} {midtrans_order_id}: {last_problem}")

    @staticmethod
    def _rejected(
        operation: str,
        midtrans_order_id: str,
        status: int,
        messages: list[str],
        *,
        from_midtrans: bool = True,
    ) -> MidtransRejected:
        if status != _NOT_FOUND or not from_midtrans:
            logger.error(
                "midtrans %s %s rejected: HTTP %s %s",
                operation,
                midtrans_order_id,
                status,
                "; ".join(messages),
            )
        return MidtransRejected(
            f"midtrans {operation} {midtrans_order_id}: HTTP {status}",
            http_status=status,
            messages=messages,
            from_midtrans=from_midtrans,
        )


@functools.cache
def midtrans_breaker() -> CircuitBreaker:
    """The breaker every gateway from `get_gateway()` shares (state in the cache)."""
    return CircuitBreaker(
        "midtrans",
        failure_threshold=settings.MIDTRANS_BREAKER_FAILURES,
        window_seconds=settings.MIDTRANS_BREAKER_WINDOW_SECONDS,
        reset_seconds=settings.MIDTRANS_BREAKER_RESET_SECONDS,
        probe_seconds=settings.MIDTRANS_DEADLINE_SECONDS + 5,
    )


def get_gateway() -> MidtransGateway:
    """A gateway configured from settings (`MIDTRANS_*`). Cheap; build one per unit of work."""
    return MidtransGateway(
        server_key=settings.MIDTRANS_SERVER_KEY,
        client_key=settings.MIDTRANS_CLIENT_KEY,
        is_production=settings.MIDTRANS_IS_PRODUCTION,
        snap_base_url=settings.MIDTRANS_SNAP_BASE_URL,
        api_base_url=settings.MIDTRANS_API_BASE_URL,
        connect_timeout=settings.MIDTRANS_CONNECT_TIMEOUT,
        read_timeout=settings.MIDTRANS_READ_TIMEOUT,
        max_retries=settings.MIDTRANS_MAX_RETRIES,
        deadline_seconds=settings.MIDTRANS_DEADLINE_SECONDS,
        breaker=midtrans_breaker(),
    )
