"""`buatfilm.wsgi` plus one timer: how long the request spent in the Midtrans Snap call.

Why: SPEC §12 sets the checkout target *excluding the Midtrans round-trip*. The only honest way
to subtract it per request is to time that call where it happens, in the web worker, and send
the duration back in a standard `Server-Timing: midtrans;dur=<ms>` response header; the load
generator subtracts it from the latency it measured. The timer wraps
`MidtransGateway.create_snap_transaction` (retries and backoff included, so a slow or failing
Midtrans counts as Midtrans) and adds two `perf_counter` calls per checkout; everything else is
the production WSGI application unchanged. Used only by `make bench`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

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


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Run the site; add `Server-Timing` when the request called Snap (sync or gthread worker:
    the thread-local belongs to this request's thread)."""
    _request.snap_seconds = 0.0

    def start_with_timing(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        if _request.snap_seconds:
            headers.append(("Server-Timing", f"midtrans;dur={_request.snap_seconds * 1000:.3f}"))
        return start_response(status, headers, *args)

    return site_application(environ, start_with_timing)
