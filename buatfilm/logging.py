"""Structured logging with the order id as correlation id.

Code that works on one order wraps its work in `correlate(order_id)`; every log line written
inside carries `order_id=...`, so one grep follows an order through web, worker and beat.
"""

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_current_order_id: contextvars.ContextVar[str] = contextvars.ContextVar("order_id", default="-")


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "order_id"):
            record.order_id = _current_order_id.get()
        return True


@contextlib.contextmanager
def correlate(order_id: str) -> Iterator[None]:
    token = _current_order_id.set(order_id)
    try:
        yield
    finally:
        _current_order_id.reset(token)
