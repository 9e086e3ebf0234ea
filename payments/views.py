"""The Midtrans notification endpoint: a short pipeline, like django-anymail's webhook views.

source allowed? -> rate limit -> size / content type / JSON -> verify + store + apply (one
service call) -> answer. 200 only for what is stored; 500 (rolled back) so Midtrans retries.
"""

import functools
import ipaddress
import json
import logging
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import get_usage, is_ratelimited

from buatfilm.http import client_ip, ratelimit_ip_key
from buatfilm.metrics import measured_webhook
from buatfilm.views import ratelimited
from payments.models import EventSource
from payments.parsing import NotificationRejected
from payments.processing import payment_notification_process
from supportdesk.audit import SYSTEM_WEBHOOK, audit_record

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


@functools.cache
def _allowed_networks(
    networks: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks if n.strip())


def source_allowed(ip: str) -> bool:
    """MIDTRANS_ALLOWED_NETWORKS empty = every source; otherwise the IP must be in one."""
    networks = _allowed_networks(tuple(settings.MIDTRANS_ALLOWED_NETWORKS))
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _error(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _record_invalid_signature(request: HttpRequest, ip: str, exc: NotificationRejected) -> None:
    """Audit the rejected notification (IP + Midtrans order id, never the signature, key or
    payload), at most MIDTRANS_INVALID_SIGNATURE_AUDIT_RATE rows per IP; beyond that a flood
    only increments the cache counter and logs one line when the limit is first crossed."""
    usage = get_usage(
        request,
        group="payments.webhook.invalid_signature",
        key=ratelimit_ip_key,
        rate=settings.MIDTRANS_INVALID_SIGNATURE_AUDIT_RATE,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        if usage["count"] == usage["limit"] + 1:
            logger.warning("webhook_invalid_signature flood from %s: audit paused", ip)
        return
    logger.warning(
        "webhook_invalid_signature reason=%s ip=%s midtrans_order_id=%s",
        exc.reason,
        ip,
        exc.midtrans_order_id,
    )
    audit_record(
        actor=SYSTEM_WEBHOOK,
        action="webhook_invalid_signature",
        entity_type="payment_notification",
        entity_id=exc.midtrans_order_id or "-",
        new_value={
            "reason": exc.reason,
            "midtrans_order_id": exc.midtrans_order_id,
            "missing_fields": list(exc.fields),
        },
        correlation_id=exc.midtrans_order_id,
        ip_address=ip or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _reject_constant(value: str) -> None:
    raise ValueError(f"{value} is not valid JSON for Midtrans")


@measured_webhook
@csrf_exempt  # no browser posts here; every notification is authenticated by its signature
@require_POST
def midtrans_notification(request: HttpRequest) -> HttpResponse:
    ip = client_ip(request)
    if not source_allowed(ip):
        logger.warning("webhook from %s outside MIDTRANS_ALLOWED_NETWORKS", ip)
        return _error(403, "Sumber notifikasi tidak diizinkan.")
    if is_ratelimited(
        request,
        group="payments.webhook",
        key=ratelimit_ip_key,
        rate=settings.MIDTRANS_WEBHOOK_RATE_LIMIT,
        increment=True,
    ):
        return ratelimited(request, Exception("webhook rate limit"))

    if request.content_type != "application/json":
        return _error(400, "Content-Type harus application/json.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "Content-Length tidak valid.")
    if declared > MAX_BODY_BYTES:
        return _error(400, "Body terlalu besar.")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _error(400, "Body terlalu besar.")
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return _error(400, "Body bukan JSON yang valid.")
    if not isinstance(payload, dict):
        return _error(400, "Body harus berupa objek JSON.")

    try:
        outcome = payment_notification_process(
            payload=payload, source=EventSource.WEBHOOK, remote_ip=ip
        )
    except NotificationRejected as exc:
        _record_invalid_signature(request, ip, exc)
        return _error(403, "Signature tidak valid.", reason=exc.reason)
    except (OperationalError, InterfaceError) as exc:
        # Transient (database unreachable, lock timeout, serialization failure, deadlock):
        # rolled back, and 503 is what Midtrans retries most (four times; a 500 only once).
        cause = type(exc.__cause__ or exc).__name__
        logger.warning("event=webhook_transient_failure error=%s: answering 503", cause)
        response = _error(503, "Sementara tidak dapat memproses; silakan kirim ulang.")
        response["Retry-After"] = "60"
        return response
    except Exception:
        # Rolled back by the service's transaction: nothing half-applied. 500 makes Midtrans
        # retry; the traceback goes to the log (never to the caller).
        logger.exception("webhook processing failed; answering 500 so Midtrans retries")
        return _error(500, "Gagal memproses notifikasi; silakan kirim ulang.")

    if outcome.http_status == 404:
        return _error(404, "order_id tidak dikenal.", outcome=outcome.outcome)
    return JsonResponse({"status": "ok", "outcome": outcome.outcome}, status=outcome.http_status)
