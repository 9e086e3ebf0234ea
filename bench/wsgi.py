"""`buatfilm.wsgi` plus timers: where each request's server time went, sent back to the load
generator in a standard `Server-Timing` response header.

    Server-Timing: total;dur=12.3, db;dur=4.5;desc=9, midtrans;dur=0.0, app;dur=7.8

* `total`: from the WSGI call to `start_response` (Django has run the whole view by then).
* `db`: time inside the default connection's cursor execution (`connection.execute_wrapper`
  around the request), `desc` = the number of queries.
* `midtrans`: time in `MidtransGateway.create_snap_transaction` (retries and backoff included,
  so a slow or failing Midtrans counts as Midtrans). SPEC §12 sets the checkout target
  *excluding the Midtrans round-trip*; the only honest way to subtract it per request is to
  time the call where it happens, in the web worker. Sent only when the request called Snap.
* `app`: the rest, total - db - midtrans: Python (Django, our code, serialising).

The load generator adds "waiting" = its own latency - total (gunicorn backlog + network). A few
`perf_counter` calls per request and per query; everything else is the production WSGI
application unchanged. Used only by `make bench`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection

from bench.report import server_timing_header
from buatfilm.wsgi import application as site_application
from payments.midtrans import MidtransGateway

_request = threading.local()
_create_snap_transaction = MidtransGateway.create_snap_transaction


def _timed_create_snap_transaction(self: MidtransGateway, params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        return _create_snap_transaction(self, params)
    finally:
        _request.snap_seconds = getattr(_request, "snap_seconds", 0.0) + (
            time.perf_counter() - started
        )


MidtransGateway.create_snap_transaction = _timed_create_snap_transaction  # type: ignore[method-assign]


class _SqlTimer:
    """An execute wrapper: adds up the time and the number of queries of one request."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Run the site with the timers (sync or gthread worker: the thread-local and the
    connection's wrapper list belong to this request's thread)."""
    started = time.perf_counter()
    _request.snap_seconds = 0.0
    sql = _SqlTimer()

    def start_with_timing(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        total = time.perf_counter() - started
        value = server_timing_header(
            total=total, db=sql.seconds, queries=sql.queries, snap=_request.snap_seconds
        )
        headers.append(("Server-Timing", value))
        return start_response(status, headers, *args)

    with connection.execute_wrapper(sql):
        return site_application(environ, start_with_timing)
