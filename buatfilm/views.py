"""Project-level views: the health check and the rate-limit answer."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from buatfilm.celery import app as celery_app


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not reachable" to a load balancer
        return False, type(exc).__name__
    return True, "ok"


def _broker_ok() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return False, type(exc).__name__
    return True, "ok"


def _midtrans_breaker_state() -> dict[str, object]:
    from payments.midtrans import midtrans_breaker

    try:
        return midtrans_breaker().snapshot()
    except Exception as exc:
        return {"state": "unknown", "error": type(exc).__name__}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers: PostgreSQL is the truth, and a node without Redis still
    takes orders and webhooks (the Beat sweep delivers what could not be enqueued), so a broker
    outage is reported as "degraded" instead of draining every node from the load balancer.
    503 only when the database is down."""
    db_ok, db_detail = _database_ok()
    broker_ok, broker_detail = _broker_ok()
    if not db_ok:
        status = "unavailable"
    elif not broker_ok:
        status = "degraded"
    else:
        status = "ok"
    body = {
        "status": status,
        "database": "ok" if db_ok else "down",
        "broker": "ok" if broker_ok else "down",
        # Detail only: an open breaker means Midtrans is down, not this node.
        "midtrans_breaker": _midtrans_breaker_state(),
    }
    if not db_ok:
        body["database_error"] = db_detail
    if not broker_ok:
        body["broker_error"] = broker_detail
    return JsonResponse(body, status=200 if db_ok else 503)


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """django-ratelimit's answer: JSON for API clients, a page for people, 429 for both."""
    if request.path.startswith(("/api/", "/payments/")):
        return JsonResponse(
            {"detail": "Terlalu banyak permintaan. Coba lagi sebentar lagi."}, status=429
        )
    return render(request, "429.html", status=429)
