"""Prometheus instruments measured inside requests and tasks (counters and histograms).

A leaf module: it imports no app, so the webhook view and the Midtrans client can use it. The
gauges that describe the database (orders per status, outbox backlog, Beat's last runs) are not
here: they are computed from PostgreSQL at scrape time (`supportdesk.metrics`), so every web
process and host reports the same truth.

Several gunicorn workers: with `PROMETHEUS_MULTIPROC_DIR` set before `prometheus_client` is
first imported (`gunicorn.conf.py` does it), every process writes its samples to files in that
folder and `/metrics` adds them up, whichever worker answers the scrape. Without it (tests,
`manage.py` commands) the values live in this process's `APP_REGISTRY`.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

APP_REGISTRY = CollectorRegistry(auto_describe=True)

# Webhook answers are meant to be fast (SPEC §12: p95 < 50 ms); Midtrans calls take up to the
# retry budget (20 s).
_WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_MIDTRANS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0)

WEBHOOK_REQUESTS = Counter(
    "buatfilm_webhook_requests",
    "Midtrans notifications answered, by outcome (a payment outcome, or why it was refused).",
    ["outcome"],
    registry=APP_REGISTRY,
)
WEBHOOK_INVALID_SIGNATURE = Counter(
    "buatfilm_webhook_invalid_signature",
    "Midtrans notifications refused for a missing or wrong signature.",
    registry=APP_REGISTRY,
)
WEBHOOK_DURATION = Histogram(
    "buatfilm_webhook_duration_seconds",
    "Time to answer a Midtrans notification.",
    buckets=_WEBHOOK_BUCKETS,
    registry=APP_REGISTRY,
)
MIDTRANS_CALL_DURATION = Histogram(
    "buatfilm_midtrans_call_duration_seconds",
    "Time of one call to Midtrans including its retries, by call and result.",
    ["call", "result"],
    buckets=_MIDTRANS_BUCKETS,
    registry=APP_REGISTRY,
)

# Outcome labels come from our own answers, never from the request: a bounded set.
_LABEL = re.compile(r"^[a-z][a-z_]{0,39}$")
_STATUS_OUTCOMES = {
    400: "bad_request",
    403: "forbidden",
    404: "unknown_order",
    405: "method_not_allowed",
    429: "rate_limited",
}


def webhook_outcome(status_code: int, body: Any) -> str:
    """The label for one webhook answer: the processing outcome the view put in its JSON body
    (`paid`, `duplicate`, ...), `invalid_signature`, or a name for the HTTP status."""
    if isinstance(body, dict):
        outcome = body.get("outcome")
        if isinstance(outcome, str) and _LABEL.match(outcome):
            return outcome
        if status_code == 403 and "reason" in body:
            return "invalid_signature"
    if status_code >= 500:
        return "error"
    return _STATUS_OUTCOMES.get(status_code, "ok" if status_code < 400 else "other")


def observe_webhook(outcome: str, seconds: float) -> None:
    WEBHOOK_REQUESTS.labels(outcome=outcome).inc()
    WEBHOOK_DURATION.observe(seconds)
    if outcome == "invalid_signature":
        WEBHOOK_INVALID_SIGNATURE.inc()


F = TypeVar("F", bound=Callable[..., Any])


def timed_midtrans_call(function: F) -> F:
    """Decorate `MidtransGateway._call(self, operation, ...)`: one observation per call, labelled
    with the operation and `ok` / the exception's class (`MidtransUnavailable`, ...)."""

    @functools.wraps(function)
    def wrapper(self: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = "ok"
        try:
            return function(self, operation, *args, **kwargs)
        except Exception as exc:
            result = type(exc).__name__
            raise
        finally:
            MIDTRANS_CALL_DURATION.labels(call=operation, result=result).observe(
                time.monotonic() - started
            )

    return wrapper  # type: ignore[return-value]


def measured_webhook(view: F) -> F:
    """Decorate the webhook view: count its answer by outcome and time it."""

    @functools.wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        response = view(request, *args, **kwargs)
        body: Any = None
        if response.get("Content-Type", "").startswith("application/json"):
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
        observe_webhook(webhook_outcome(response.status_code, body), time.monotonic() - started)
        return response

    return wrapper  # type: ignore[return-value]
