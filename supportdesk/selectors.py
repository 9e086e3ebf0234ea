"""Reads for the support desk: the order page's audit trail and resend choices, search helpers,
and the dashboard's figures. Every figure is aggregated by the database (GROUP BY / COUNT /
SUM), never by looping over orders in Python."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import phonenumbers
from django.db.models import Avg, Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from buatfilm.formatting import WIB
from notifications.models import NotificationOutbox, OutboxStatus, Template
from orders.messages import template_unavailable_reason
from orders.models import Order, OrderStatus
from supportdesk.models import AuditLog

FUNNEL_DAYS = 14
BACKLOG_STATUSES = (
    OutboxStatus.PENDING,
    OutboxStatus.SENDING,
    OutboxStatus.RETRYING,
    OutboxStatus.CANCELLED,
    OutboxStatus.DLQ,
)


# --- Order page ------------------------------------------------------------------------------


def order_audit_rows(*, order_id: str, limit: int = 200) -> QuerySet[AuditLog]:
    """Audit rows about an order, newest first: rows correlated to it (status changes,
    entitlement, notifications, admin actions) and rows whose entity is the order itself.
    AuditLog has no foreign key to Order on purpose (it outlives anything), hence the match on
    ids."""
    return AuditLog.objects.filter(
        Q(correlation_id=order_id) | Q(entity_type="order", entity_id=order_id)
    ).order_by("-created_at", "-id")[:limit]


def order_resend_candidates(*, order_id: str) -> QuerySet[NotificationOutbox]:
    """The order's automatic customer messages (not resends, not ops alerts): what support may
    send again. One row per (template, channel) by the outbox's unique constraint."""
    return (
        NotificationOutbox.objects.filter(order_id=order_id, resend_of__isnull=True)
        .exclude(template_name=Template.OPS_ALERT)
        .order_by("created_at", "id")
    )


def order_resend_options(
    *, order: Order
) -> tuple[QuerySet[NotificationOutbox], list[tuple[NotificationOutbox, str]]]:
    """What support may resend for an order now, and what not with the reason: only templates
    valid for the order's current status are offered (no "pembayaran berhasil + akses" for a
    REFUNDED order, no payment instructions for a PAID one)."""
    candidates = order_resend_candidates(order_id=order.order_id)
    unavailable = []
    for row in candidates:
        if reason := template_unavailable_reason(template=row.template_name, order=order):
            unavailable.append((row, reason))
    available = candidates.exclude(pk__in=[row.pk for row, _ in unavailable])
    return available, unavailable


def phone_search_variants(term: str) -> list[str]:
    """What a phone number typed by support (`0812-3456-789`, `62812…`, `+62 812…`) looks like
    as stored (E.164 `+62812…`); empty when the term is not an Indonesian phone number."""
    digits = "".join(ch for ch in term if ch.isdigit() or ch == "+")
    if len(digits.lstrip("+")) < 8:
        return []
    if digits.startswith("62"):
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, "ID")
    except phonenumbers.NumberParseException:
        return []
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return [e164] if e164 != term else []


# --- Dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelDay:
    """Orders created on one WIB calendar day, by their status now."""

    day: date
    created: int = 0
    still_created: int = 0
    pending: int = 0
    paid: int = 0
    failed: int = 0
    expired: int = 0
    refunded: int = 0
    revenue: int = 0

    @property
    def conversion(self) -> float | None:
        """Percent of the day's orders that are PAID now; None when there were none."""
        if not self.created:
            return None
        return 100.0 * self.paid / self.created


@dataclass(frozen=True)
class BacklogRow:
    channel: str
    status: str
    count: int
    oldest_at: datetime | None
    avg_attempts: float


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    funnel: list[FunnelDay]
    totals: FunnelDay
    backlog: list[BacklogRow]
    dlq_count: int
    oldest_pending: Order | None
    ops_alerts: list[NotificationOutbox] = field(default_factory=list)

    @property
    def oldest_pending_age(self) -> timedelta | None:
        if self.oldest_pending is None:
            return None
        return self.now - self.oldest_pending.created_at


_STATUS_COLUMNS = {
    "still_created": OrderStatus.CREATED,
    "pending": OrderStatus.PENDING_PAYMENT,
    "paid": OrderStatus.PAID,
    "failed": OrderStatus.FAILED,
    "expired": OrderStatus.EXPIRED,
    "refunded": OrderStatus.REFUNDED,
}


def funnel_by_day(*, now: datetime, days: int = FUNNEL_DAYS) -> list[FunnelDay]:
    """The payment funnel for the last `days` WIB calendar days including today, oldest first,
    one entry per day (zeros for days without orders). Each day counts the orders *created*
    that day (WIB) and splits them by their *current* status (a cohort view, like the
    addendum's `payment_funnel`); revenue is the sum of `final_amount` of those now PAID."""
    today = timezone.localtime(now, WIB).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=WIB)
    aggregates = {
        name: Count("pk", filter=Q(status=status)) for name, status in _STATUS_COLUMNS.items()
    }
    rows = (
        Order.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=WIB))
        .values("day")
        .annotate(
            created=Count("pk"),
            revenue=Sum("final_amount", filter=Q(status=OrderStatus.PAID), default=0),
            **aggregates,
        )
        .order_by("day")
    )
    by_day: dict[date, dict[str, Any]] = {}
    for row in cast("list[dict[str, Any]]", list(rows)):
        by_day[row.pop("day")] = row
    return [
        FunnelDay(day=day, **by_day.get(day, {}))
        for day in (first_day + timedelta(days=offset) for offset in range(days))
    ]


def funnel_totals(days: list[FunnelDay]) -> FunnelDay:
    """The sum of a funnel (its `day` is the last day's)."""
    names = ("created", "still_created", "pending", "paid", "failed", "expired", "refunded")
    sums = {name: sum(getattr(d, name) for d in days) for name in (*names, "revenue")}
    return FunnelDay(day=days[-1].day if days else timezone.localdate(), **sums)


def notification_backlog() -> list[BacklogRow]:
    """Outbox rows not delivered yet (or given up on), by channel and status, with the oldest
    row's creation time and the average number of attempts (the addendum's
    `notification_backlog`, plus SENDING)."""
    rows = (
        NotificationOutbox.objects.filter(status__in=BACKLOG_STATUSES)
        .values("channel", "status")
        .annotate(count=Count("pk"), oldest_at=Min("created_at"), avg_attempts=Avg("attempt_count"))
        .order_by("channel", "status")
    )
    return [
        BacklogRow(
            channel=row["channel"],
            status=row["status"],
            count=row["count"],
            oldest_at=row["oldest_at"],
            avg_attempts=float(row["avg_attempts"] or 0),
        )
        for row in rows
    ]


def oldest_pending_order() -> Order | None:
    """The PENDING_PAYMENT order created first (the one most likely stuck)."""
    return (
        Order.objects.filter(status=OrderStatus.PENDING_PAYMENT)
        .only("order_id", "created_at", "expires_at", "final_amount")
        .order_by("created_at")
        .first()
    )


def recent_ops_alerts(*, limit: int = 10) -> list[NotificationOutbox]:
    return list(
        NotificationOutbox.objects.filter(template_name=Template.OPS_ALERT).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def dashboard_snapshot(*, now: datetime | None = None, days: int = FUNNEL_DAYS) -> Dashboard:
    """Everything the support dashboard shows, read at `now`."""
    now = now or timezone.now()
    funnel = funnel_by_day(now=now, days=days)
    return Dashboard(
        now=now,
        funnel=funnel,
        totals=funnel_totals(funnel),
        backlog=notification_backlog(),
        dlq_count=NotificationOutbox.objects.filter(status=OutboxStatus.DLQ).count(),
        oldest_pending=oldest_pending_order(),
        ops_alerts=recent_ops_alerts(),
    )


# --- Showing stored payloads -------------------------------------------------------------------

# Midtrans payloads and outbox contexts may carry secret-derived values (`signature_key`), Snap
# tokens, the order's access key inside `status_url`, or a one-time login link. Support needs
# none of them to help a customer, and a screenshot of the admin must not leak them.
_SECRET_KEY_PARTS = ("signature", "key", "token", "secret", "password")
_SECRET_KEYS = frozenset({"login_url", "status_url", "redirect_url"})
REDACTED = "«disembunyikan»"


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_KEY_PARTS)


def redact_secrets(value: object) -> object:
    """A copy of a JSON value with every entry whose key names a secret (contains "signature",
    "key", "token", "secret" or "password", or is a link that embeds one) replaced by a marker,
    at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_key(str(key)) else redact_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_secrets(item) for item in value]
    return value
