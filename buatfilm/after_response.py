"""Work a request leaves for after its response: `after_response(fn)`.

Inside a request (between Django's `request_started` and `request_finished` on this thread),
`fn` is kept and run when the response is closed, which the WSGI server does after the last
byte went to the client (gunicorn: `respiter.close()` once the body is written); anywhere else
(a Celery task, a management command, a shell) it runs at once. For work the client does not
need to wait for and that is safe to lose: the outbox's task publish after commit (the rows
are PENDING in the database and the periodic sweep delivers any the broker never got), where
every publish is a broker round trip (memory:// in the bench: ~0.5 ms of CPU each).

A failing `fn` is logged and does not stop the others. Work left behind by a request whose
response was never closed (a server that breaks the WSGI contract) runs when the thread's
next request starts, so it is late rather than lost.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished, request_started

logger = logging.getLogger(__name__)

_state = threading.local()


def after_response(fn: Callable[[], object]) -> None:
    pending: list[Callable[[], object]] | None = getattr(_state, "pending", None)
    if pending is None:
        fn()
    else:
        pending.append(fn)


def _run(pending: list[Callable[[], object]] | None) -> None:
    for fn in pending or ():
        try:
            fn()
        except Exception:
            logger.exception("work deferred to after the response failed: %r", fn)


def _request_started(**_: Any) -> None:
    left_behind = getattr(_state, "pending", None)
    _state.pending = []
    _run(left_behind)


def _request_finished(**_: Any) -> None:
    pending = getattr(_state, "pending", None)
    _state.pending = None
    _run(pending)


request_started.connect(_request_started, dispatch_uid="buatfilm.after_response.started")
request_finished.connect(_request_finished, dispatch_uid="buatfilm.after_response.finished")
