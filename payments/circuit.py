"""A small circuit breaker for calls to Midtrans, its state shared through the Django cache.

Why: when Midtrans is down every customer would otherwise wait out the whole Midtrans deadline
before seeing the retry page, and every web thread would be busy waiting. After
`failure_threshold` failed calls (each one already retried and bounded by the deadline) within
`window_seconds`, the breaker opens: calls fail at once for `reset_seconds`. Then it is
half-open: one call (one in the whole site, through `cache.add`) is let through as a probe;
its success closes the breaker, its failure opens it again. A Midtrans answer of any kind,
4xx included, counts as success: Midtrans is up.

The state lives in the cache (Redis in production), so every gunicorn worker and Celery worker
sees the same breaker. When the cache itself fails, this process falls back to its own
in-memory state (the breaker still works per process) and says so in the log once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class _LocalStore:
    """The subset of the cache API the breaker uses, in process memory (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[Any, float | None]] = {}

    def _live(self, key: str) -> Any:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    def get(self, key: str) -> Any:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        with self._lock:
            self._data[key] = (value, None if timeout is None else time.monotonic() + timeout)

    def add(self, key: str, value: Any, timeout: float | None = None) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, None if timeout is None else time.monotonic() + timeout)
            return True

    def incr(self, key: str) -> int:
        with self._lock:
            value = self._live(key)
            if value is None:
                raise ValueError(key)
            expires = self._data[key][1]
            self._data[key] = (int(value) + 1, expires)
            return int(value) + 1

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class _Store:
    """The Django cache, or `_LocalStore` for any call where the cache raises."""

    def __init__(self) -> None:
        self.local = _LocalStore()
        self._warned = False

    def _run(self, method: str, *args: Any) -> Any:
        try:
            return getattr(cache, method)(*args)
        except ValueError:
            raise  # incr of a missing key: part of the protocol, not a cache failure
        except Exception as exc:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "circuit breaker: cache unavailable (%s); using this process's own state",
                    type(exc).__name__,
                )
            return getattr(self.local, method)(*args)

    def get(self, key: str) -> Any:
        return self._run("get", key)

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        self._run("set", key, value, timeout)

    def add(self, key: str, value: Any, timeout: float | None = None) -> bool:
        return bool(self._run("add", key, value, timeout))

    def incr(self, key: str) -> int:
        return int(self._run("incr", key))

    def delete(self, key: str) -> None:
        self._run("delete", key)


@dataclass(frozen=True)
class Ticket:
    """Permission to make one call; `probe` = the half-open trial call."""

    probe: bool = False


class CircuitOpen(Exception):
    """The breaker is open: the call was not made."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit {name} open (retry in {retry_after:.0f} s)")
        self.retry_after = retry_after


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        window_seconds: float = 60.0,
        reset_seconds: float = 30.0,
        probe_seconds: float = 30.0,
    ) -> None:
        self.name = name
        self.failure_threshold = max(1, failure_threshold)
        self.window_seconds = window_seconds
        self.reset_seconds = reset_seconds
        # How long one probe may take before another caller may probe (its process may die).
        self.probe_seconds = probe_seconds
        self.store = _Store()
        prefix = f"circuit:{name}:"
        self._failures = prefix + "failures"
        self._open_until = prefix + "open_until"
        self._probe = prefix + "probe"
        self._trips = prefix + "trips"
        self._last_trip = prefix + "last_trip"

    # --- The call protocol: acquire, then record_success or record_failure ------------------

    def acquire(self) -> Ticket:
        """Raises `CircuitOpen` while the breaker is open or another caller is probing."""
        open_until = self.store.get(self._open_until)
        if open_until is None:
            return Ticket()
        now = time.time()
        if now < float(open_until):
            raise CircuitOpen(self.name, float(open_until) - now)
        if self.store.add(self._probe, now, self.probe_seconds):
            logger.warning("circuit %s half-open: letting one probe call through", self.name)
            return Ticket(probe=True)
        raise CircuitOpen(self.name, self.probe_seconds)

    def record_success(self, ticket: Ticket) -> None:
        if ticket.probe or self.store.get(self._open_until) is not None:
            self.store.delete(self._open_until)
            self.store.delete(self._probe)
            logger.warning("circuit %s closed: Midtrans answered again", self.name)
        self.store.delete(self._failures)

    def record_failure(self, ticket: Ticket, reason: str) -> None:
        if ticket.probe:
            self._open(reason=f"probe failed: {reason}")
            self.store.delete(self._probe)
            return
        self.store.add(self._failures, 0, self.window_seconds)
        try:
            failures = self.store.incr(self._failures)
        except ValueError:  # expired between add and incr
            self.store.set(self._failures, 1, self.window_seconds)
            failures = 1
        if failures >= self.failure_threshold and self.store.get(self._open_until) is None:
            self._open(reason=f"{failures} failed calls in a row: {reason}")

    def _open(self, *, reason: str) -> None:
        until = time.time() + self.reset_seconds
        self.store.set(self._open_until, until, None)
        self.store.delete(self._failures)
        self.store.add(self._trips, 0, None)
        try:
            trips = self.store.incr(self._trips)
        except ValueError:
            trips = 1
            self.store.set(self._trips, trips, None)
        self.store.set(self._last_trip, {"at": time.time(), "reason": reason[:300]}, None)
        logger.error(
            "circuit %s OPEN for %.0f s (trip %s): %s", self.name, self.reset_seconds, trips, reason
        )

    # --- Reporting ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """For `/healthz/`: state, failures counted, trips so far and the last trip."""
        open_until = self.store.get(self._open_until)
        now = time.time()
        if open_until is None:
            state = CLOSED
        elif now < float(open_until):
            state = OPEN
        else:
            state = HALF_OPEN
        last_trip = self.store.get(self._last_trip)
        return {
            "state": state,
            "failures": int(self.store.get(self._failures) or 0),
            "failure_threshold": self.failure_threshold,
            "retry_in_seconds": max(0, round(float(open_until) - now)) if state == OPEN else 0,
            "trips": int(self.store.get(self._trips) or 0),
            "last_trip_reason": last_trip["reason"] if isinstance(last_trip, dict) else None,
        }

    def reset(self) -> None:
        """Forget everything (tests; an operator after a fixed incident)."""
        for key in (self._failures, self._open_until, self._probe, self._trips, self._last_trip):
            self.store.delete(key)
            self.store.local.delete(key)
