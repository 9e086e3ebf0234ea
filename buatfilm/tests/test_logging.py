"""Structured logs: the JSON formatter, and the request id that ties a request's lines together."""

import json
import logging
import sys

import pytest

from buatfilm.logging import CorrelationIdFilter, JsonFormatter, correlate, request_context
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body, post_notification


def record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    rec = logging.LogRecord(
        "orders.services", logging.WARNING, __file__, 1, message, args, exc_info
    )
    for key, value in extra.items():
        setattr(rec, key, value)
    CorrelationIdFilter().filter(rec)
    return rec


def test_json_formatter_writes_one_object_per_line_with_the_correlation_ids():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        exc_info = sys.exc_info()
    with correlate("BF-20261124-ABCD"), request_context("req-0123456789"):
        rec = record("event=%s\nmore", "order_paid", exc_info=exc_info, outbox_id=7)
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "orders.services"
    assert entry["message"] == "event=order_paid\nmore"
    assert entry["order_id"] == "BF-20261124-ABCD"
    assert entry["request_id"] == "req-0123456789"
    assert entry["outbox_id"] == 7
    assert entry["timestamp"].endswith("Z") and "T" in entry["timestamp"]
    assert "ValueError: boom" in entry["exception"]


def test_json_formatter_leaves_out_unknown_ids():
    entry = json.loads(JsonFormatter().format(record("plain")))
    assert "order_id" not in entry and "request_id" not in entry
    assert set(entry) == {"timestamp", "level", "logger", "message"}


@pytest.mark.django_db
def test_every_answer_has_a_request_id(client):
    first = client.get("/healthz/")["X-Request-ID"]
    second = client.get("/healthz/")["X-Request-ID"]
    assert len(first) == 32 and first != second
    offered = "lb-4f1c2b9a-77e1"
    assert client.get("/healthz/", HTTP_X_REQUEST_ID=offered)["X-Request-ID"] == offered
    for hostile in ("x" * 200, "a b c d e f g h", "abc\x00defghij", "short"):
        answered = client.get("/healthz/", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"]
        assert answered != hostile and len(answered) == 32


@pytest.mark.django_db
def test_lines_logged_in_a_request_carry_its_request_id(client, caplog):
    attempt = PaymentAttemptFactory()
    caplog.handler.addFilter(CorrelationIdFilter())
    forged = midtrans_body(attempt, "settlement", server_key="not-our-key")
    with caplog.at_level(logging.WARNING, logger="payments"):
        response = post_notification(client, forged)
    assert response.status_code == 403
    lines = [r for r in caplog.records if "invalid_signature" in r.getMessage()]
    assert lines
    assert {r.request_id for r in lines} == {response["X-Request-ID"]}
