"""Structured logging with the order id and the request id as correlation ids.

Code that works on one order wraps its work in `correlate(order_id)`; every log line written
inside carries `order_id=...`, so one grep follows an order through web, worker and beat. Each
web request gets a request id (`RequestIdMiddleware`: the caller's `X-Request-ID` when it is
sane, else a new one, echoed in the answer) and each Celery task run uses its task id, so the
lines of one request or one task run can be picked out too.

`LOG_FORMAT=json` (the production default) writes one JSON object per line (`JsonFormatter`):
timestamp, level, logger, message, `order_id` / `request_id` when known, the exception, and any
`extra=` fields. Web (Django and gunicorn), worker and beat all log through these settings.
"""

import contextlib
import contextvars
import datetime
import json
import logging
import re
import traceback
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse

from buatfilm.redaction import redact

_current_order_id: contextvars.ContextVar[str] = contextvars.ContextVar("order_id", default="-")
_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "order_id"):
            record.order_id = _current_order_id.get()
        if not hasattr(record, "request_id"):
            record.request_id = _current_request_id.get()
        return True


@contextlib.contextmanager
def correlate(order_id: str) -> Iterator[None]:
    token = _current_order_id.set(order_id)
    try:
        yield
    finally:
        _current_order_id.reset(token)


@contextlib.contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Every line logged inside carries `request_id` (a web request, a task run)."""
    token = _current_request_id.set(request_id)
    try:
        yield
    finally:
        _current_request_id.reset(token)


def current_request_id() -> str:
    return _current_request_id.get()


class RequestIdMiddleware:
    """First in the chain: one id per request, in every log line and in `X-Request-ID`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        with request_context(request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "order_id", "request_id", "taskName"}
)


def _jsonable(value: Any) -> Any:
    """`extra=` values as JSON; strings (and reprs such as Django's `request`, which shows the
    query string) go through `redact`."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; newlines in messages and tracebacks stay inside strings."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("order_id", "request_id"):
            value = getattr(record, name, "-")
            if value and value != "-":
                entry[name] = value
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                entry.setdefault(name, _jsonable(value))
        if record.exc_text:  # already formatted (and redacted) by RedactSecretsFilter
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def set_request_id(request_id: str) -> None:
    """For code that cannot wrap its work in `request_context` (Celery's prerun/postrun signals)."""
    _current_request_id.set(request_id)


class RedactSecretsFilter(logging.Filter):
    """Last line of defence against bearer secrets in log lines (`buatfilm.redaction`): the
    order access key, magic-link tokens, signatures, secret headers. Django's own request
    logging writes the path ("Not Found: /login/<token>/"); exception text is redacted too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
