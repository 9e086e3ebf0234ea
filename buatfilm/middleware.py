"""Refuse hostile input before any view runs (issue 10, point 6).

A NUL character, a lone surrogate or an absurdly long value in the path, the query string, a
header (cookies included), a form field or a JSON body gets 400 (404 for the path) with the
project's error page, or JSON under /api/ and /payments/, and one warning naming the part and
the problem (never the value). Without this, such a value reaches PostgreSQL (`DataError`) or
the UTF-8 encoder and the customer gets a 500. The Midtrans webhook's JSON body is exempt: it is
sanitised and stored there (see `payments.processing`), since Midtrans signed it.
"""

import json
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from buatfilm.hostile import MAX_PATH_LENGTH, json_problem, text_problem

logger = logging.getLogger(__name__)

MAX_HEADER_LENGTH = 8192
JSON_BODY_EXEMPT = ("/payments/midtrans/notification/",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _machine_client(request: HttpRequest) -> bool:
    path = str(request.META.get("PATH_INFO", ""))
    return path.startswith(("/api/", "/payments/"))


class HostileInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = self._problem(request)
        if found is None:
            return self.get_response(request)
        part, name, problem = found
        logger.warning("event=hostile_input part=%s field=%s problem=%s", part, name, problem)
        status = 404 if part == "path" else 400
        if _machine_client(request):
            detail = "Tidak ditemukan." if status == 404 else "Permintaan tidak valid."
            return JsonResponse({"detail": detail}, status=status)
        return render(request, f"{status}.html", status=status)

    def _problem(self, request: HttpRequest) -> tuple[str, str, str] | None:
        path = str(request.META.get("PATH_INFO", ""))
        if problem := text_problem(path, max_length=MAX_PATH_LENGTH):
            return "path", "-", problem
        for name, value in request.META.items():
            if not (name.startswith("HTTP_") and isinstance(value, str)):
                continue
            if problem := text_problem(value, max_length=MAX_HEADER_LENGTH):
                return "header", name[5:].lower().replace("_", "-"), problem
        for key, values in request.GET.lists():
            for value in [key, *values]:
                if problem := text_problem(value):
                    return "query", _safe_name(key), problem
        if request.method not in {"POST", "PUT", "PATCH"}:
            return None
        content_type = request.content_type or ""
        if content_type in FORM_TYPES:
            for key, values in request.POST.lists():
                for value in [key, *values]:
                    if problem := text_problem(value):
                        return "form", _safe_name(key), problem
        elif content_type.endswith("json") and path not in JSON_BODY_EXEMPT:
            try:
                document = json.loads(request.body)
            except (ValueError, RecursionError):
                return None  # not JSON: the view answers its own 400
            if problem := json_problem(document):
                return "json", "-", problem
        return None


def _safe_name(name: str) -> str:
    """A field name fit for a log line (it may be the hostile part)."""
    return "".join(c if c.isalnum() or c in "_-" else "?" for c in name[:40]) or "-"
