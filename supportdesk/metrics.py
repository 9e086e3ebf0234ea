"""`GET /metrics`: Prometheus text for ops, behind `Authorization: Bearer $METRICS_TOKEN`.

Two sources. The state of the business (orders per status, the outbox backlog and its oldest
due row, the oldest pending order, Beat's last run per job) is read from PostgreSQL at scrape
time, so it is the same whichever web process or host answers and survives restarts. What
happens inside requests (webhook answers and their latency, Midtrans call latency) is counted
by `buatfilm.metrics`, summed over every gunicorn worker in multiprocess mode.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_celery_beat.models import PeriodicTask
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from buatfilm.metrics import APP_REGISTRY
from buatfilm.schedules import NAME_PREFIX
from notifications.models import Channel, NotificationOutbox, OutboxStatus
from orders.models import Order, OrderStatus


def _age_seconds(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def outbox_oldest_due_at(*, now: datetime) -> datetime | None:
    """Since when the longest-waiting deliverable row has been due: PENDING/RETRYING rows whose
    `next_attempt_at` is empty (due since creation) or past, and SENDING rows whose worker
    lease ran out (due since the lease ended)."""
    waiting = NotificationOutbox.objects.filter(
        status__in=[OutboxStatus.PENDING, OutboxStatus.RETRYING]
    )
    candidates = [
        waiting.filter(next_attempt_at__isnull=True).aggregate(at=Min("created_at"))["at"],
        waiting.filter(next_attempt_at__lte=now).aggregate(at=Min("next_attempt_at"))["at"],
        NotificationOutbox.objects.filter(
            status=OutboxStatus.SENDING, locked_until__lt=now
        ).aggregate(at=Min("locked_until"))["at"],
    ]
    present = [at for at in candidates if at is not None]
    return min(present) if present else None


class DatabaseCollector(Collector):
    """Gauges computed from the database on each scrape (a handful of indexed aggregates)."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()

        orders = GaugeMetricFamily("buatfilm_orders", "Orders per status.", labels=["status"])
        per_status = dict(Order.objects.values_list("status").annotate(n=Count("pk")).order_by())
        for status in OrderStatus.values:
            orders.add_metric([status], per_status.get(status, 0))
        yield orders

        outbox = GaugeMetricFamily(
            "buatfilm_outbox_messages",
            "Notification outbox rows per channel and status.",
            labels=["channel", "status"],
        )
        per_pair = {
            (channel, status): n
            for channel, status, n in NotificationOutbox.objects.values_list("channel", "status")
            .annotate(n=Count("pk"))
            .order_by()
        }
        channels = sorted({*Channel.values, *(channel for channel, _ in per_pair)})
        unknown = {status for _, status in per_pair} - set(OutboxStatus.values)
        statuses = [*OutboxStatus.values, *sorted(unknown)]
        for channel in channels:
            for status in statuses:
                outbox.add_metric([channel, status], per_pair.get((channel, status), 0))
        yield outbox

        oldest_pending = Order.objects.filter(status=OrderStatus.PENDING_PAYMENT).aggregate(
            at=Min("created_at")
        )["at"]
        yield GaugeMetricFamily(
            "buatfilm_oldest_pending_order_age_seconds",
            "Age of the oldest PENDING_PAYMENT order (0 when there is none).",
            value=_age_seconds(now, oldest_pending),
        )
        yield GaugeMetricFamily(
            "buatfilm_outbox_oldest_due_age_seconds",
            "How long the longest-waiting deliverable outbox row has been due (0 when none).",
            value=_age_seconds(now, outbox_oldest_due_at(now=now)),
        )

        beat = GaugeMetricFamily(
            "buatfilm_celery_beat_last_run_timestamp_seconds",
            "When Celery Beat last sent each enabled scheduled job (Unix time; 0 = never).",
            labels=["job"],
        )
        tasks = PeriodicTask.objects.filter(
            Q(name__startswith=NAME_PREFIX), enabled=True
        ).values_list("name", "last_run_at")
        for name, last_run_at in sorted(tasks):
            beat.add_metric(
                [name.removeprefix(NAME_PREFIX)], last_run_at.timestamp() if last_run_at else 0.0
            )
        yield beat


class _AppCollector(Collector):
    """This process's own instruments (no multiprocess folder configured)."""

    def collect(self) -> Iterator[Metric]:
        yield from APP_REGISTRY.collect()


def metrics_registry() -> CollectorRegistry:
    """A registry for one scrape: the database gauges plus the in-request instruments, summed
    over every process writing to `PROMETHEUS_MULTIPROC_DIR` when it is set."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_AppCollector())
    registry.register(DatabaseCollector())
    return registry


def _authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
