"""Locust users for `make bench`: one user class per scenario, run one scenario at a time.

Why a locustfile and not a loop of `requests`: locust (gevent) keeps a fixed number of
concurrent clients busy from one process with little CPU, which matters when the load
generator shares 2 cores with the site it measures. Only the locust CLI loads this file (gevent
patches the interpreter); `bench/run.py` talks to it through environment variables and files:

* ``BENCH_SAMPLES_OUT``: every request as a JSON line (start, ms, status, the raw
  `Server-Timing` header of `bench.wsgi`) so `run.py` computes exact percentiles instead of
  locust's rounded ones, and where the server time went (`bench.report.parse_server_timing`).
* ``BENCH_DATA_IN``: JSON input (orders for the status API, signed notifications).
* ``BENCH_ORDERS_OUT``: orders created by the checkout scenario, for the later scenarios.
* ``BENCH_REQUESTS``: a fixed request count (0 = until ``--run-time``).
* ``BENCH_RATE``: requests/s per user, Poisson arrivals (0 = closed loop, no think time).

No Django import here on purpose: the clients are plain HTTP, like the real ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import uuid
from collections import deque
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.exception import StopUser

SAMPLES_OUT = os.environ.get("BENCH_SAMPLES_OUT", "")
DATA_IN = os.environ.get("BENCH_DATA_IN", "")
ORDERS_OUT = os.environ.get("BENCH_ORDERS_OUT", "")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "0") or 0)
RATE = float(os.environ.get("BENCH_RATE", "0") or 0)
PACKAGE = os.environ.get("BENCH_PACKAGE", "pro")
PAYMENT_METHODS = ("bca_va", "bni_va", "echannel", "gopay", "shopeepay", "dana", "other_qris")

_samples: list[str] = []
_created_orders: list[dict[str, Any]] = []


def _load_data() -> list[Any]:
    if not DATA_IN:
        return []
    with open(DATA_IN, encoding="utf-8") as handle:
        data = json.load(handle)
    return list(data)


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    """Keep every request: exact latency, status (0 = connection error), the bench WSGI
    wrapper's `Server-Timing` (parsed later, by `bench.report`), and what the webhook did."""
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None)
    timing = headers.get("Server-Timing", "") if headers is not None else ""
    outcome = None
    if name.startswith("POST /payments/") and status:
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            outcome = json.loads(response.text).get("outcome")
    _samples.append(
        json.dumps(
            {
                "t": start_time,
                "ms": response_time,
                "status": status,
                "timing": timing or "",
                "error": type(exception).__name__ if exception is not None else None,
                "outcome": outcome,
            }
        )
    )


@events.quitting.add_listener
def _write_out(environment: Environment, **_: Any) -> None:
    if SAMPLES_OUT:
        with open(SAMPLES_OUT, "w", encoding="utf-8") as handle:
            handle.write("\n".join(_samples) + ("\n" if _samples else ""))
    if ORDERS_OUT:
        with open(ORDERS_OUT, "w", encoding="utf-8") as handle:
            json.dump(_created_orders, handle)


class BenchUser(FastHttpUser):
    """Closed loop (`BENCH_RATE` 0) or paced: requests start at Poisson times of rate
    `BENCH_RATE` per user, independent of how fast the site answers (an open model, like
    customers and Midtrans). Not locust's `constant_throughput`: users spawned together would
    fire in lock-step bursts. A user whose answer came after its next start time goes at once
    but does not burst to catch up; each begins at a random point of its first interval."""

    abstract = True
    next_start = 0.0

    def wait_time(self) -> float:
        if RATE <= 0:
            return 0.0
        now = time.monotonic()
        self.next_start = max(self.next_start + random.expovariate(RATE), now)
        return self.next_start - now

    def on_start(self) -> None:
        if RATE > 0:
            self.next_start = time.monotonic() + random.uniform(0, 1 / RATE)  # noqa: S311
            gevent.sleep(self.next_start - time.monotonic())


class _WorkQueue:
    """A fixed amount of work shared by all users of the (single) locust process; the last
    user to finish stops the run, so a fixed-count scenario ends as soon as it is done."""

    def __init__(self, items: list[Any]) -> None:
        self.items: deque[Any] = deque(items)
        self.in_flight = 0
        self.loaded = False
        self.quitting = False

    def take(self, user: FastHttpUser) -> Any:
        if self.items:
            self.in_flight += 1
            return self.items.popleft()
        if self.in_flight == 0 and user.environment.runner is not None and not self.quitting:
            # From a greenlet of its own: quit() stops every user, and a user that stops
            # itself from inside quit() dies half-way, leaving locust to run until --run-time.
            self.quitting = True
            gevent.spawn(user.environment.runner.quit)
        raise StopUser()

    def done(self) -> None:
        self.in_flight -= 1


class HealthzUser(BenchUser):
    """The floor: the cheapest request that still touches the database and the broker."""

    @task
    def healthz(self) -> None:
        self.client.get("/healthz/", name="GET /healthz/")


_checkouts = _WorkQueue(list(range(REQUESTS))) if REQUESTS else None


class CheckoutUser(BenchUser):
    """`POST /api/orders/`: a new customer each time (unique Idempotency-Key, email, phone),
    so every request creates an order and a Snap transaction at the simulator."""

    @task
    def checkout(self) -> None:
        if _checkouts is not None:
            _checkouts.take(self)
        try:
            self._checkout()
        finally:
            if _checkouts is not None:
                _checkouts.done()

    def _checkout(self) -> None:
        key = uuid.uuid4().hex
        body = {
            "package": PACKAGE,
            "name": "Pelanggan Bench",
            "email": f"bench-{key[:20]}@example.com",
            "phone": "0812" + "".join(random.choices("0123456789", k=8)),  # noqa: S311
            "payment_method": random.choice(PAYMENT_METHODS),  # noqa: S311
        }
        with self.client.post(
            "/api/orders/",
            json=body,
            headers={"Idempotency-Key": f"bench-{key}"},
            name="POST /api/orders/",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}")
                return
            answer = response.json()
            payment = answer.get("payment") or {}
            _created_orders.append(
                {
                    "order_id": answer["order_id"],
                    "access_key": answer["access_key"],
                    "amount": answer["amount"],
                    "midtrans_order_id": payment.get("midtrans_order_id"),
                    "payment_method": payment.get("method"),
                }
            )


class StatusUser(BenchUser):
    """`GET /api/orders/<id>/` with `X-Order-Key`: what the status page polls."""

    orders: list[dict[str, Any]] = []

    def on_start(self) -> None:
        if not StatusUser.orders:
            StatusUser.orders = _load_data()
        super().on_start()

    @task
    def status(self) -> None:
        order = random.choice(self.orders)  # noqa: S311
        self.client.get(
            f"/api/orders/{order['order_id']}/",
            headers={"X-Order-Key": order["access_key"]},
            name="GET /api/orders/[id]/",
        )


_notifications = _WorkQueue([])


class WebhookUser(BenchUser):
    """`POST /payments/midtrans/notification/`: pre-signed bodies in a prepared order
    (run.py interleaves them so duplicates of one payment are in flight together)."""

    def on_start(self) -> None:
        if not _notifications.items and not _notifications.loaded:
            _notifications.items.extend(_load_data())
            _notifications.loaded = True
        super().on_start()

    @task
    def notify(self) -> None:
        body = _notifications.take(self)
        try:
            self.client.post(
                "/payments/midtrans/notification/",
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": "Veritrans"},
                name="POST /payments/midtrans/notification/",
            )
        finally:
            _notifications.done()
