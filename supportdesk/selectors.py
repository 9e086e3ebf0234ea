"""Reads for the support desk: the order page's audit trail and resend choices, search helpers,
and the dashboard's figures. Every figure is aggregated by the database (GROUP BY / COUNT /
SUM), never by looping over orders in Python."""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import phonenumbers
from django.db.models import Avg, Count, Exists, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from buatfilm.formatting import WIB, rupiah, wib
from courses.models import Entitlement
from notifications.models import NotificationOutbox, OutboxStatus, Template
from orders.messages import template_unavailable_reason
from orders.models import Order, OrderStatus
from payments.models import PaymentAttempt, PaymentEvent
from supportdesk import labels
from supportdesk.labels import Label
from supportdesk.models import AuditLog, DailyOrderStats, IntegrityCheck

FUNNEL_DAYS = 14
# Rows not delivered (yet, or ever). CANCELLED is not backlog: the relevance rule decided not
# to send, and counting every such row since the shop opened grew with its whole history.
BACKLOG_STATUSES = (
    OutboxStatus.PENDING,
    OutboxStatus.SENDING,
    OutboxStatus.RETRYING,
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


# --- Order timeline ----------------------------------------------------------------------------

# Audit rows whose fact is already an entry of its own (the order, an attempt and its Snap call,
# an ignored event): shown once, not twice.
_FOLDED_AUDIT_ACTIONS = frozenset(
    {
        "order_created",
        "payment_attempt_created",
        "payment_attempt_unavailable",
        "payment_attempt_rejected",
        "payment_event_ignored",
    }
)
# Same moment: the cause before its effects.
_KIND_RANK = {"order": 0, "attempt": 1, "event": 2, "audit": 3, "staff": 3, "message": 4}


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to an order, in words. `label` is the badge (status or outcome,
    with what support should do), `payload` a JSON value already stripped of secrets, shown
    collapsed."""

    at: datetime
    kind: str  # order | attempt | event | message | audit | staff
    title: str
    label: Label | None = None
    details: tuple[str, ...] = ()
    actor: str = ""
    url: str = ""
    payload: object = None
    sort_id: int = 0

    @property
    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _KIND_RANK[self.kind], self.sort_id)

    @property
    def payload_json(self) -> str:
        return json.dumps(self.payload, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def actor_words(actor: str) -> str:
    """'system:webhook' -> 'sistem (webhook)', 'staff:alice' -> 'staf alice'."""
    kind, _, name = actor.partition(":")
    if kind == "staff":
        return f"staf {name}"
    if kind == "system":
        return f"sistem ({name})"
    if actor == "customer":
        return "pelanggan"
    return actor


def _admin_url(name: str, pk: object) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def _order_entry(order: Order) -> TimelineEntry:
    details = [
        f"{order.package_name} · {rupiah(order.final_amount)} · "
        f"{order.get_payment_method_display()}"
    ]
    if order.discount_amount:
        details.append(
            f"Harga {rupiah(order.base_amount)}, diskon {rupiah(order.discount_amount)}"
            + (f" (kode {order.discount_code})" if order.discount_code else "")
        )
    return TimelineEntry(
        at=order.created_at, kind="order", title="Order dibuat", details=tuple(details)
    )


def _attempt_entry(attempt: PaymentAttempt, actor: str) -> TimelineEntry:
    details = []
    if attempt.snap_error:
        details.append(f"Snap gagal: {attempt.snap_error[:200]}")
    elif attempt.snap_token:
        details.append("Snap dibuat: pelanggan diarahkan ke halaman bayar Midtrans")
    else:
        details.append("Snap belum menjawab")
    paid_with = []
    if attempt.va_number:
        paid_with.append(f"VA {attempt.bank.upper()} {attempt.va_number}".replace("  ", " "))
    if attempt.bill_key:
        paid_with.append(f"Mandiri bill {attempt.biller_code}/{attempt.bill_key}")
    if attempt.midtrans_transaction_id:
        paid_with.append(f"transaction id {attempt.midtrans_transaction_id}")
    if paid_with:
        details.append(" · ".join(paid_with))
    if attempt.needs_review:
        details.append("Perlu dicek di portal Midtrans (fraud challenge)")
    return TimelineEntry(
        at=attempt.created_at,
        kind="attempt",
        title=(
            f"Percobaan bayar #{attempt.sequence} ({attempt.midtrans_order_id}) · "
            f"{attempt.payment_method} · {rupiah(attempt.amount)}"
        ),
        label=labels.attempt_status(attempt.status),
        details=tuple(details),
        actor=actor,
        url=_admin_url("payments_paymentattempt", attempt.pk),
        sort_id=attempt.pk,
    )


def _event_entry(event: PaymentEvent, sequence: int | None) -> TimelineEntry:
    source = labels.SOURCE.get(event.source, event.source)
    what = event.transaction_status or "?"
    if event.payment_type:
        what += f" ({event.payment_type})"
    target = f"percobaan #{sequence}" if sequence else event.midtrans_order_id
    details = [f"Kode {event.status_code or '-'} · jumlah {event.gross_amount or '-'}"]
    if event.fraud_status:
        details[0] += f" · fraud {event.fraud_status}"
    if event.transaction_id:
        details[0] += f" · transaction id {event.transaction_id}"
    if not event.signature_valid:
        details.append("Bukan pesan bertanda tangan Midtrans (dicatat staf)")
    return TimelineEntry(
        at=event.received_at,
        kind="event",
        title=f"{source}: {what} untuk {target}",
        label=labels.outcome(event.outcome),
        details=tuple(details),
        actor=actor_words(f"system:{event.source}"),
        url=_admin_url("payments_paymentevent", event.pk),
        payload=redact_secrets(event.raw_payload),
        sort_id=event.pk,
    )


def _message_entry(row: NotificationOutbox) -> TimelineEntry:
    channel = labels.CHANNEL.get(row.channel, row.channel)
    if row.template_name == Template.OPS_ALERT:
        title = f"Peringatan ops via {channel}: {row.context.get('subject', '')}".rstrip(": ")
    else:
        title = f"Pesan «{row.get_template_name_display()}» via {channel} ke {row.recipient}"
    details = [f"Percobaan kirim {row.attempt_count}/{row.max_attempts}"]
    if row.sent_at:
        details[0] += f" · terkirim {timezone.localtime(row.sent_at, WIB):%d %b %H:%M:%S}"
    if row.resend_of_id:
        details.append(f"Kirim ulang dari pesan #{row.resend_of_id}")
    if row.last_error:
        details.append(f"Error terakhir: {row.last_error[:200]}")
    return TimelineEntry(
        at=row.created_at,
        kind="message",
        title=title,
        label=labels.outbox_status(row.status),
        details=tuple(details),
        actor=actor_words(row.requested_by) if row.requested_by else "",
        url=_admin_url("notifications_notificationoutbox", row.pk),
        sort_id=row.pk,
    )


def reconcile_result_words(results: list[dict[str, str]]) -> list[str]:
    """One line per attempt of a reconciliation, in words."""
    lines = []
    for result in results:
        label = labels.outcome(result.get("result", ""))
        line = f"{result.get('attempt', '')}: {label.text}"
        if result.get("detail"):
            line += f" ({result['detail']})"
        lines.append(line)
    return lines


def _audit_entry(row: AuditLog) -> TimelineEntry:
    old, new = row.old_value or {}, row.new_value or {}
    kind, label, details = "audit", None, []
    title = f"Audit: {row.action}"
    if row.action == "order_status_changed":
        before = labels.order_status(str(old.get("status", "")))
        label = labels.order_status(str(new.get("status", "")))
        title = f"Status order: {before.text} → {label.text}"
        if new.get("reason"):
            details.append(f"Alasan: {new['reason']}")
    elif row.action == "entitlement_granted":
        title, label = "Akses kursus diberikan", labels.entitlement_status("ACTIVE")
    elif row.action == "entitlement_revoked":
        title, label = "Akses kursus dicabut", labels.entitlement_status("REVOKED")
    elif row.action == "late_payment":
        title = "Pembayaran terlambat diterima (order sudah ditutup): akses tetap diberikan"
        label = labels.outcome("paid_late")
    elif row.action == "admin_reconcile":
        kind = "staff"
        before = labels.order_status(str(old.get("status", "")))
        after = labels.order_status(str(new.get("status", "")))
        title = (
            f"Rekonsiliasi oleh staf: status berubah {before.text} → {after.text}"
            if before != after
            else f"Rekonsiliasi oleh staf: status tetap {after.text}"
        )
        details = reconcile_result_words(list(new.get("results") or []))
        if not details:
            details = [str(o) for o in new.get("outcomes") or []]
        if new.get("error"):
            details.append(f"Error: {new['error']}")
            label = labels.outcome("error")
    elif row.action == "notification_resend":
        kind = "staff"
        template = Template(new["template"]).label if new.get("template") in Template.values else ""
        channel = labels.CHANNEL.get(str(new.get("channel", "")), "")
        title = f"Kirim ulang diminta: «{template or new.get('template', '')}» via {channel}"
        details.append(f"Pesan baru #{new.get('outbox_id', row.entity_id)}")
    elif row.action == "admin_cancel":
        kind = "staff"
        label = labels.order_status(str(new.get("status", "")))
        title = f"Dibatalkan oleh staf untuk pelanggan: status kini {label.text}"
        if new.get("reason"):
            details.append(f"Alasan: {new['reason']}")
        if new.get("cancelled_at_midtrans"):
            details.append(
                "Transaksi Midtrans dibatalkan: " + ", ".join(new["cancelled_at_midtrans"])
            )
    if row.ip_address and row.actor.startswith("staff:"):
        details.append(f"IP {row.ip_address}")
    payload = None
    if row.action not in ("order_status_changed", "entitlement_granted", "entitlement_revoked"):
        payload = redact_secrets({"lama": old, "baru": new})
    return TimelineEntry(
        at=row.created_at,
        kind=kind,
        title=title,
        label=label,
        details=tuple(details),
        actor=actor_words(row.actor),
        url=_admin_url("supportdesk_auditlog", row.pk),
        payload=payload,
        sort_id=row.pk,
    )


def order_timeline(*, order_id: str, include_audit: bool = True) -> list[TimelineEntry]:
    """Everything that happened to one order, oldest first, in words: the order, each payment
    attempt (with its Snap call), each Midtrans event (source, status, outcome), each message
    (template, channel, delivery status, attempts) and, with `include_audit`, each audit row
    (status changes, access, staff reconcile/resend, with the actor). Audit rows that repeat an
    entry (order/attempt creation, an ignored event) are folded into it. A fixed number of
    queries, whatever the order's history. Raises `Order.DoesNotExist`."""
    order = Order.objects.get(order_id=order_id)
    attempts = list(PaymentAttempt.objects.filter(order_id=order_id).order_by("sequence"))
    sequence_of = {a.pk: a.sequence for a in attempts}
    attempt_actor: dict[str, str] = {}
    entries = [_order_entry(order)]
    if include_audit:
        for row in order_audit_rows(order_id=order_id, limit=500):
            if row.action == "payment_attempt_created":
                attempt_actor[row.entity_id] = actor_words(row.actor)
            if row.action not in _FOLDED_AUDIT_ACTIONS:
                entries.append(_audit_entry(row))
    entries += [_attempt_entry(a, attempt_actor.get(a.midtrans_order_id, "")) for a in attempts]
    entries += [
        _event_entry(e, sequence_of.get(e.attempt_id or 0))
        for e in PaymentEvent.objects.filter(order_id=order_id)
    ]
    entries += [_message_entry(row) for row in NotificationOutbox.objects.filter(order_id=order_id)]
    return sorted(entries, key=lambda entry: entry.sort_key)


def order_access(*, order_id: str) -> Entitlement | None:
    return Entitlement.objects.select_related("course", "user").filter(order_id=order_id).first()


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
    return [phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)]


# --- Finding an order from what the customer quotes ---------------------------------------------

SEARCH_LIMIT = 200
_QUOTED_DIGITS = re.compile(r"[\s.\-]")


def order_ids_matching(term: str, *, limit: int = SEARCH_LIMIT) -> list[str]:
    """The ids of the orders a support agent means by `term`, whatever the customer quoted:
    the order id, the email (any case), the phone number in any format (`0812-…`, `62812…`,
    `+62 812…`), a Midtrans order id (`BF-…-2`) or transaction id, a VA number or a Mandiri bill
    key (spaces and dashes ignored).

    Every lookup is an equality on an indexed (or normalised, index-backed) column, one small
    query per kind of key, never `icontains`: it stays an index scan at millions of orders
    (`supportdesk/tests/test_search.py` checks the plans on PostgreSQL). Returns at most
    `limit` ids, newest order first not guaranteed (the caller orders them)."""
    term = term.replace("\x00", "").strip()[:254]
    if not term:
        return []
    upper = term.upper()
    found: list[str] = []

    def add(values: Iterable[str | None]) -> None:
        for value in values:
            if value and value not in found:
                found.append(value)

    add(Order.objects.filter(order_id=upper).values_list("order_id", flat=True))
    if "@" in term:
        add(
            Order.objects.filter(customer_email__iexact=term).values_list("order_id", flat=True)[
                :limit
            ]
        )
    if variants := phone_search_variants(term):
        add(
            Order.objects.filter(customer_phone__in=variants).values_list("order_id", flat=True)[
                :limit
            ]
        )
    attempt_match = Q(midtrans_order_id__in={term, upper}) | Q(
        midtrans_transaction_id__in={term, term.lower()}
    )
    digits = _QUOTED_DIGITS.sub("", term)
    if digits.isdigit() and len(digits) >= 6:
        attempt_match |= Q(va_number=digits) | Q(bill_key=digits)
    add(PaymentAttempt.objects.filter(attempt_match).values_list("order_id", flat=True)[:limit])
    add(
        PaymentEvent.objects.filter(transaction_id__in={term, term.lower()}).values_list(
            "order_id", flat=True
        )[:limit]
    )
    return found[:limit]


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
    # For the success metrics: orders Midtrans reported paid, and of those the fulfilled ones.
    customer_paid: int = 0
    fulfilled: int = 0

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
    success: "SuccessMetrics | None" = None
    days: int = FUNNEL_DAYS

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


def _paid_at_midtrans() -> Exists:
    """The order has a verified event saying the customer paid (settlement, capture+accept)."""
    return Exists(
        PaymentEvent.objects.filter(order_id=OuterRef("pk"), signature_valid=True).filter(
            Q(transaction_status="settlement")
            | Q(transaction_status="capture", fraud_status="accept")
        )
    )


def _has_entitlement() -> Exists:
    """The order has a course-access row (any status): one index probe per order, where a
    LEFT JOIN made PostgreSQL hash every entitlement of the shop's history."""
    return Exists(Entitlement.objects.filter(order_id=OuterRef("pk")))


def day_figures(*, since: datetime, until: datetime) -> dict[date, dict[str, int]]:
    """The `FunnelDay` figures of the orders created in [since, until), per WIB day of
    creation, in one GROUP BY (the live source of the funnel)."""
    return _figures(Q(created_at__gte=since, created_at__lt=until))


def days_figures(days: Iterable[date]) -> dict[date, dict[str, int]]:
    """The `FunnelDay` figures of whole WIB days, any set of them (the daily summary
    recomputes the days that changed), in one GROUP BY over those days' orders."""
    where = Q()
    for day in days:
        where |= Q(created_at__gte=_midnight(day), created_at__lt=_midnight(day + timedelta(1)))
    return _figures(where) if where else {}


def days_changed(*, since: datetime, first_day: date, until_day: date) -> set[date]:
    """The WIB days of creation in [first_day, until_day) of the orders that changed
    (`updated_at`) or got a payment event since `since`: the days whose daily summary may be
    out of date. Two index ranges over what happened since, whatever the history's size."""
    window = {"created_at__gte": _midnight(first_day), "created_at__lt": _midnight(until_day)}
    changed = (
        Order.objects.filter(updated_at__gte=since, **window)
        .annotate(day=TruncDate("created_at", tzinfo=WIB))
        .values_list("day", flat=True)
    )
    told = (
        PaymentEvent.objects.filter(
            received_at__gte=since, **{f"order__{key}": value for key, value in window.items()}
        )
        .annotate(day=TruncDate("order__created_at", tzinfo=WIB))
        .values_list("day", flat=True)
    )
    return set(changed.union(told))


def _figures(where: Q) -> dict[date, dict[str, int]]:
    aggregates = {
        name: Count("pk", filter=Q(status=status)) for name, status in _STATUS_COLUMNS.items()
    }
    rows = (
        Order.objects.filter(where)
        .annotate(
            day=TruncDate("created_at", tzinfo=WIB),
            paid_at_midtrans=_paid_at_midtrans(),
            has_entitlement=_has_entitlement(),
        )
        .values("day")
        .annotate(
            created=Count("pk"),
            revenue=Sum("final_amount", filter=Q(status=OrderStatus.PAID), default=0),
            customer_paid=Count("pk", filter=Q(paid_at_midtrans=True)),
            fulfilled=Count(
                "pk",
                filter=Q(
                    paid_at_midtrans=True,
                    status__in=SUCCESS_STATUSES,
                    has_entitlement=True,
                ),
            ),
            **aggregates,
        )
        .order_by("day")
    )
    return {row.pop("day"): row for row in cast("list[dict[str, Any]]", list(rows))}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=WIB)


def funnel_by_day(*, now: datetime, days: int = FUNNEL_DAYS) -> list[FunnelDay]:
    """The payment funnel for the last `days` WIB calendar days including today, oldest first,
    one entry per day (zeros for days without orders). Each day counts the orders *created*
    that day (WIB) and splits them by their *current* status (a cohort view, like the
    addendum's `payment_funnel`); revenue is the sum of `final_amount` of those now PAID.

    Closed days come from the daily summary (`DailyOrderStats`, refreshed hourly) when it has
    them; from the first day it lacks up to `now` the orders are aggregated live, so the view
    reads a handful of rows whatever the shop's size, and is exact without a summary."""
    today = timezone.localtime(now, WIB).date()
    first_day = today - timedelta(days=days - 1)
    all_days = [first_day + timedelta(days=offset) for offset in range(days)]
    stored = {
        row["day"]: row
        for row in DailyOrderStats.objects.filter(day__gte=first_day, day__lt=today).values(
            "day", *FUNNEL_FIELDS
        )
    }
    live_from = next(day for day in all_days if day not in stored)  # today is never stored
    by_day: dict[date, dict[str, Any]] = {
        day: {name: row[name] for name in FUNNEL_FIELDS}
        for day, row in stored.items()
        if day < live_from
    }
    by_day |= day_figures(since=_midnight(live_from), until=now)
    return [FunnelDay(day=day, **by_day.get(day, {})) for day in all_days]


FUNNEL_FIELDS = (
    "created",
    "still_created",
    "pending",
    "paid",
    "failed",
    "expired",
    "refunded",
    "revenue",
    "customer_paid",
    "fulfilled",
)


def funnel_totals(days: list[FunnelDay]) -> FunnelDay:
    """The sum of a funnel (its `day` is the last day's)."""
    sums = {name: sum(getattr(d, name) for d in days) for name in FUNNEL_FIELDS}
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
    totals = funnel_totals(funnel)
    return Dashboard(
        success=success_metrics(since=_midnight(funnel[0].day), until=now, period=totals),
        days=days,
        now=now,
        funnel=funnel,
        totals=totals,
        backlog=notification_backlog(),
        dlq_count=NotificationOutbox.objects.filter(status=OutboxStatus.DLQ).count(),
        oldest_pending=oldest_pending_order(),
        ops_alerts=recent_ops_alerts(),
    )


# --- Success metrics (seed 000, section 11) ------------------------------------------------------

PERIOD_CHOICES = (1, 7, 14, 30)
SUCCESS_STATUSES = (OrderStatus.PAID, OrderStatus.REFUNDED)  # refunded orders were paid


@dataclass(frozen=True)
class Metric:
    """One success metric of the period beside its target. `value` is a percentage for rates
    (None when there is nothing to divide by) and a count otherwise."""

    key: str
    label: str
    value: float | int | None
    target: float | int
    is_rate: bool
    explanation: str

    @property
    def missed(self) -> bool:
        if self.value is None:
            return False
        if self.is_rate:
            return self.value < self.target
        return self.value > self.target


@dataclass(frozen=True)
class PackageRevenue:
    package_code: str
    package_name: str
    paid_orders: int
    revenue: int


@dataclass(frozen=True)
class PromoUsage:
    code: str
    orders: int
    paid_orders: int
    discount_total: int
    revenue: int


@dataclass(frozen=True)
class SuccessMetrics:
    since: datetime
    until: datetime
    metrics: list[Metric]
    revenue_by_package: list[PackageRevenue]
    promo_usage: list[PromoUsage]


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else 100.0 * part / whole


ACCESS_WITHOUT_PAID = "access_without_paid"


def _access_without_paid() -> QuerySet[Entitlement]:
    return (
        Entitlement.objects.filter(status=Entitlement.Status.ACTIVE)
        .exclude(order__status=OrderStatus.PAID)
        .order_by()
    )


def access_without_paid_count() -> int:
    """ACTIVE entitlements whose order is not PAID (must be 0): one join over every
    entitlement, so the hourly job runs it, not each dashboard view."""
    return _access_without_paid().count()


def access_without_paid_ids(
    *, changed_since: datetime | None = None, known: Iterable[int] = ()
) -> list[int]:
    """The ids of the ACTIVE entitlements whose order is not PAID (must be none), sorted.

    Without `changed_since`: all of them, one join over every entitlement (the daily full
    check). With it: only those whose order changed (`updated_at`) since then, plus those of
    `known` (the last check's violators) that still break the rule, one index range over the
    orders changed since. An entitlement only changes with its order (granted on entering
    PAID, revoked on a refund), so whatever neither changed nor broke the rule last time
    still keeps it."""
    violating = _access_without_paid()
    if changed_since is None:
        return sorted(violating.values_list("pk", flat=True))
    changed = violating.filter(order__updated_at__gte=changed_since).values_list("pk", flat=True)
    known = list(known)
    if known:
        changed = changed.union(violating.filter(pk__in=known).values_list("pk", flat=True))
    return sorted(changed)


def access_without_paid_checked() -> tuple[int, datetime | None]:
    """The hourly check's last result and when it ran; counted now (and None) if it never
    ran, e.g. on a fresh install before Beat's first hour."""
    check = IntegrityCheck.objects.filter(name=ACCESS_WITHOUT_PAID).first()
    if check is None:
        return access_without_paid_count(), None
    return check.violations, check.checked_at


def success_metrics(
    *, since: datetime, until: datetime, period: FunnelDay | None = None
) -> SuccessMetrics:
    """The four success metrics of the use cases for orders created in [since, until), plus
    revenue per package and promo usage, each aggregated by the database:

    - checkout → payment (target ≥ 80 %): orders whose customer paid (Midtrans reported a
      settlement, or a capture with fraud `accept`) ÷ orders created;
    - payment → success (target ≥ 95 %): of those, orders that became PAID with course access
      (PAID now, or REFUNDED later: it was fulfilled) ÷ orders paid at Midtrans;
    - duplicate notifications (target 0): automatic customer messages of those orders whose
      delivery was taken over after a worker lost its lease (possibly delivered twice; a second
      row for the same message is impossible by constraint); staff resends are not duplicates;
    - course access without PAID (target 0): ACTIVE entitlements whose order is not PAID —
      over all orders, not only the period's: it is an invariant, not a rate; as of the
      hourly check (`access_without_paid_checked`).

    `period`: the funnel totals of exactly [since, until) (the dashboard has them, partly from
    the daily summary); without it the first three counts are aggregated here.
    """
    orders = Order.objects.filter(created_at__gte=since, created_at__lt=until)
    if period is None:
        counts = orders.annotate(
            paid_at_midtrans=_paid_at_midtrans(), has_entitlement=_has_entitlement()
        ).aggregate(
            created=Count("pk"),
            customer_paid=Count("pk", filter=Q(paid_at_midtrans=True)),
            fulfilled=Count(
                "pk",
                filter=Q(paid_at_midtrans=True, status__in=SUCCESS_STATUSES, has_entitlement=True),
            ),
        )
    else:  # the dashboard's funnel totals over exactly [since, until) already hold them
        counts = {
            "created": period.created,
            "customer_paid": period.customer_paid,
            "fulfilled": period.fulfilled,
        }
    # Two rows for one automatic message cannot exist: the outbox's unique constraints (one per
    # (order, channel, template), or per dedupe key for the per-attempt ones) forbid them. What
    # can happen is one row delivered twice: a claim that ended in neither a success nor a
    # recorded error is a lease takeover, and the worker that lost it may have delivered before
    # it died. Only retried rows can show it (a partial index keeps them few).
    automatic = NotificationOutbox.objects.filter(
        order__in=orders, resend_of__isnull=True, status=OutboxStatus.SENT, attempt_count__gt=1
    ).exclude(template_name=Template.OPS_ALERT)
    duplicates = sum(
        1
        for attempts, errors in automatic.values_list("attempt_count", "error_history")
        if attempts > len(errors or []) + 1
    )
    access_without_paid, checked_at = access_without_paid_checked()
    by_package = (
        orders.filter(status=OrderStatus.PAID)
        .values("package_code", "package_name")
        .annotate(paid_orders=Count("pk"), revenue=Sum("final_amount"))
        .order_by("-revenue", "package_code")
    )
    promos = (
        orders.exclude(discount_code="")
        .values("discount_code")
        .annotate(
            orders=Count("pk"),
            paid_orders=Count("pk", filter=Q(status=OrderStatus.PAID)),
            discount_total=Sum("discount_amount", filter=Q(status=OrderStatus.PAID), default=0),
            revenue=Sum("final_amount", filter=Q(status=OrderStatus.PAID), default=0),
        )
        .order_by("-orders", "discount_code")
    )
    metrics = [
        Metric(
            key="checkout_to_payment",
            label="Checkout → pembayaran",
            value=_rate(counts["customer_paid"], counts["created"]),
            target=80,
            is_rate=True,
            explanation=(
                f"{counts['customer_paid']} dari {counts['created']} order dibayar pelanggan "
                "di Midtrans"
            ),
        ),
        Metric(
            key="payment_to_success",
            label="Pembayaran → berhasil (akses diberikan)",
            value=_rate(counts["fulfilled"], counts["customer_paid"]),
            target=95,
            is_rate=True,
            explanation=(
                f"{counts['fulfilled']} dari {counts['customer_paid']} pembayaran menjadi "
                "lunas dengan akses kursus"
            ),
        ),
        Metric(
            key="duplicate_notifications",
            label="Notifikasi ganda",
            value=duplicates,
            target=0,
            is_rate=False,
            explanation=(
                "pesan otomatis yang terkirim lebih dari sekali (kirim ulang staf tidak dihitung)"
            ),
        ),
        Metric(
            key="access_without_paid",
            label="Akses kursus tanpa PAID",
            value=access_without_paid,
            target=0,
            is_rate=False,
            explanation="akses aktif yang ordernya tidak lunas (semua waktu"
            + (f", diperiksa {wib(checked_at)})" if checked_at else ")"),
        ),
    ]
    return SuccessMetrics(
        since=since,
        until=until,
        metrics=metrics,
        revenue_by_package=[PackageRevenue(**row) for row in by_package],
        promo_usage=[
            PromoUsage(
                code=row["discount_code"],
                orders=row["orders"],
                paid_orders=row["paid_orders"],
                discount_total=row["discount_total"],
                revenue=row["revenue"],
            )
            for row in promos
        ],
    )


# --- Showing stored payloads -------------------------------------------------------------------

# Midtrans payloads and outbox contexts may carry secret-derived values (`signature_key`), Snap
# tokens, the order's access key inside `status_url`, or a one-time login link. Support needs
# none of them to help a customer, and a screenshot of the admin must not leak them.
_SECRET_KEY_PARTS = ("signature", "key", "token", "secret", "password")
_SECRET_KEYS = frozenset({"login_url", "status_url", "redirect_url", "receipt_pdf_url"})
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
