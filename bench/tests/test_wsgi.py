"""`bench.wsgi` sends where the request's server time went: a real request through the WSGI
callable, the header parsed back. Counts and presence only, no timed assertions."""

from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_started
from django.db import close_old_connections

from bench import report


@pytest.fixture
def keep_the_test_connection():
    """What Django's test client does: the handler's per-request close of old connections
    would close the test's transaction."""
    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


@pytest.mark.django_db
def test_every_answer_carries_server_timing_with_the_query_count(keep_the_test_connection):
    from bench.wsgi import application

    environ: dict = {"PATH_INFO": "/healthz/", "HTTP_HOST": "localhost"}
    setup_testing_defaults(environ)
    answers: list = []
    body = b"".join(application(environ, lambda status, headers: answers.append((status, headers))))
    assert body
    status, headers = answers[0]
    assert status.startswith("200")
    [value] = [v for name, v in headers if name == "Server-Timing"]
    durations, queries = report.parse_server_timing(value)
    assert set(durations) == {"total", "db", "app"}  # no Snap call, no midtrans entry
    assert queries is not None and queries >= 1  # healthz asks the database
    assert durations["total"] >= durations["db"]
