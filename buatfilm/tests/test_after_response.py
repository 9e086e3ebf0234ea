"""`after_response`: inside a request the work waits for the response to be closed (after the
body went out), anywhere else it runs at once; a failure is logged and stops nothing."""

import json

import pytest
from django.core.signals import request_finished, request_started
from django.http import HttpResponse
from django.test import RequestFactory

from buatfilm.after_response import after_response

# request_started / request_finished also close stale database connections.
pytestmark = pytest.mark.django_db


def test_outside_a_request_it_runs_at_once():
    ran = []
    after_response(lambda: ran.append("now"))
    assert ran == ["now"]


def test_inside_a_request_it_waits_for_the_response_to_close():
    ran = []
    request_started.send(sender=None)
    try:
        after_response(lambda: ran.append("first"))
        after_response(lambda: ran.append("second"))
        assert ran == []
    finally:
        request_finished.send(sender=None)
    assert ran == ["first", "second"]
    after_response(lambda: ran.append("after"))  # the request is over: at once again
    assert ran == ["first", "second", "after"]


def test_a_failing_piece_is_logged_and_the_rest_still_runs(caplog):
    ran = []

    def broken() -> None:
        raise RuntimeError("broker down")

    request_started.send(sender=None)
    after_response(broken)
    after_response(lambda: ran.append("still"))
    request_finished.send(sender=None)
    assert ran == ["still"]
    assert "deferred to after the response failed" in caplog.text
    assert "broker down" in caplog.text


def test_work_of_a_request_never_closed_runs_when_the_next_one_starts():
    ran = []
    request_started.send(sender=None)
    after_response(lambda: ran.append("left behind"))
    request_started.send(sender=None)  # no request_finished in between
    assert ran == ["left behind"]
    request_finished.send(sender=None)
    assert ran == ["left behind"]


def test_through_the_wsgi_handler_the_body_is_complete_before_the_work_runs(settings):
    """The real handler: the work runs from the response's close(), which the server calls
    after it sent the body."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import path

    seen: list[str] = []

    def view(request):
        after_response(lambda: seen.append("deferred"))
        seen.append("view returned")
        return HttpResponse(json.dumps({"ok": True}), content_type="application/json")

    urls = type("urls", (), {"urlpatterns": [path("t/", view)]})
    settings.ROOT_URLCONF = urls
    environ = RequestFactory().get("/t/").environ
    body = b""
    iterable = WSGIHandler()(environ, lambda status, headers: None)
    for chunk in iterable:
        body += chunk
    assert json.loads(body) == {"ok": True}
    assert seen == ["view returned"]  # the body is out, the work has not run
    iterable.close()  # what the server does after writing
    assert seen == ["view returned", "deferred"]
