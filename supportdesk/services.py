"""The support desk's own actions (reconcile now, resend a message): permission-checked,
audited wrappers around the payments and notifications services, called by the admin. The top
layer: it may import every other app; nothing below imports it."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import NotificationOutbox
from notifications.services import ops_alert_enqueue
from orders.messages import order_message_resend
from orders.models import Order
from payments.cancellation import CancelResult, order_cancel
from payments.models import PaymentEvent
from payments.reconciliation import AttemptReconciliation, payment_reconcile_order
from payments.refunds import RecordedRefund, refund_record_offline
from supportdesk import exports, selectors
from supportdesk.audit import audit_record, staff_actor
from supportdesk.models import DailyOrderStats, IntegrityCheck

logger = logging.getLogger(__name__)

PERM_RECONCILE = "supportdesk.reconcile_order"
PERM_RESEND = "supportdesk.resend_notification"
PERM_RECORD_REFUND = "supportdesk.record_refund"


class StaffUser(Protocol):
    def has_perm(self, perm: str, obj: Any = None) -> bool: ...

    def get_username(self) -> str: ...


class SupportPermissionDenied(Exception):
    """The staff user lacks the permission for this support action; nothing was done."""


@dataclass(frozen=True)
class ReconcileReport:
    """What a support-triggered reconciliation found and changed."""

    order_id: str
    status_before: str
    status_after: str
    new_events: int
    outcomes: list[str]
    error: str = ""
    # One {attempt, result, detail} per attempt: `result` is a processing outcome or a
    # reconciliation result code (see `supportdesk.labels.OUTCOME` for the words).
    results: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.status_before != self.status_after or self.new_events > 0


def _outcome_summary(outcome: AttemptReconciliation) -> str:
    """'BF-…-1: paid', 'BF-…-2: error (Midtrans unreachable)'."""
    text = f"{outcome.midtrans_order_id}: {outcome.result}"
    return f"{text} ({outcome.detail})" if outcome.detail else text


def support_reconcile_order(
    *, order_id: str, user: StaffUser, ip_address: str | None
) -> ReconcileReport:
    """Ask Midtrans now about every attempt of one order, for a staff user, and record it.

    Runs `payments.reconciliation.payment_reconcile_order` (the scheduler's service: Midtrans
    answers go through the webhook's processing path, so status changes happen only there,
    through the order state machine) outside any transaction, then appends one
    `admin_reconcile` audit row
    with the user, IP, the status before and after, and one outcome per attempt. A Midtrans or
    network failure (per attempt, or an unexpected error of the whole call, which is also
    logged) is reported in `error` and audited, not raised: the staff member sees it.

    Raises `SupportPermissionDenied` (no `supportdesk.reconcile_order`; nothing done, nothing
    audited) and `Order.DoesNotExist`."""
    if not user.has_perm(PERM_RECONCILE):
        raise SupportPermissionDenied(PERM_RECONCILE)
    actor = staff_actor(user.get_username())
    before = Order.objects.only("status").get(order_id=order_id).status
    events_before = PaymentEvent.objects.filter(order_id=order_id).count()
    outcomes: list[str] = []
    results: list[dict[str, str]] = []
    errors: list[str] = []
    try:
        for outcome in payment_reconcile_order(order_id=order_id, actor=actor):
            outcomes.append(_outcome_summary(outcome))
            results.append(
                {
                    "attempt": outcome.midtrans_order_id,
                    "result": str(outcome.result),
                    "detail": outcome.detail[:200],
                }
            )
            if outcome.failed:
                errors.append(_outcome_summary(outcome))
    except Exception as exc:  # shown to staff and audited; the order is untouched
        logger.exception("support reconcile of %s failed", order_id)
        errors.append(f"{type(exc).__name__}: {exc}")
    error = "; ".join(errors)[:300]
    after = Order.objects.only("status").get(order_id=order_id).status
    report = ReconcileReport(
        order_id=order_id,
        status_before=before,
        status_after=after,
        new_events=PaymentEvent.objects.filter(order_id=order_id).count() - events_before,
        outcomes=outcomes,
        error=error,
        results=results,
    )
    new_value: dict[str, Any] = {
        "status": after,
        "new_events": report.new_events,
        "outcomes": outcomes,
        "results": results,
    }
    if error:
        new_value["error"] = error
    audit_record(
        actor=actor,
        action="admin_reconcile",
        entity_type="order",
        entity_id=order_id,
        old_value={"status": before},
        new_value=new_value,
        correlation_id=order_id,
        ip_address=ip_address,
    )
    return report


def support_resend_notification(
    *,
    original_id: int,
    user: StaffUser,
    ip_address: str | None,
    channel: str | None = None,
) -> NotificationOutbox:
    """Queue a copy of one automatic customer message, for a staff user.

    Calls `orders.messages.order_message_resend`, which refuses a template not valid for the
    order's status now and writes the new outbox row (pointing at the original through
    `resend_of`) and its audit row with the user and IP; this function adds no second row for
    the same fact.

    Raises `SupportPermissionDenied` (no `supportdesk.resend_notification`; nothing done) and
    whatever `order_message_resend` raises for a row that cannot be resent."""
    if not user.has_perm(PERM_RESEND):
        raise SupportPermissionDenied(PERM_RESEND)
    return order_message_resend(
        original_id=original_id,
        actor=staff_actor(user.get_username()),
        channel=channel,
        ip_address=ip_address,
    )


PERM_EXPORT = "supportdesk.export_orders"
EXPORTS = {
    "orders": exports.order_finance_lines,
    "refunds": exports.refund_lines,
    "promo_usage": exports.promo_usage_lines,
}


def support_export_csv(
    *, kind: str, orders: QuerySet[Order], user: StaffUser, ip_address: str | None
) -> Iterator[str]:
    """The CSV lines of one finance export (`kind`: orders, refunds or promo_usage) of `orders`,
    for a staff user with `supportdesk.export_orders`; one `admin_export` audit row names who
    exported what (bulk customer data leaves the system). The lines are produced lazily.

    Raises `SupportPermissionDenied` (nothing exported, nothing audited)."""
    if not user.has_perm(PERM_EXPORT):
        raise SupportPermissionDenied(PERM_EXPORT)
    audit_record(
        actor=staff_actor(user.get_username()),
        action="admin_export",
        entity_type="export",
        entity_id=kind,
        new_value={"kind": kind},
        ip_address=ip_address,
    )
    return EXPORTS[kind](orders)


PERM_CANCEL = "supportdesk.cancel_order"


def support_cancel_order(
    *, order_id: str, user: StaffUser, reason: str, ip_address: str | None
) -> CancelResult:
    """Cancel a pending order for a customer, as a staff user: the customer's own cancel
    service (`payments.cancellation.order_cancel`: the live Midtrans transaction is cancelled
    first, a settlement that raced it wins, then FAILED through the state machine), with the
    staff user as the audited actor, their IP, and the reason they gave in the status change.

    Raises `SupportPermissionDenied` (no `supportdesk.cancel_order`; nothing done),
    `Order.DoesNotExist`, `CancelNotAllowed` (not pending) and `CancelUnavailable` (Midtrans
    unreachable: nothing changed, try again)."""
    if not user.has_perm(PERM_CANCEL):
        raise SupportPermissionDenied(PERM_CANCEL)
    actor = staff_actor(user.get_username())
    before = Order.objects.only("status").get(order_id=order_id).status
    result = order_cancel(
        order_id=order_id,
        actor=actor,
        reason=f"Dibatalkan staf {user.get_username()}: {reason}"[:255],
        ip_address=ip_address,
    )
    # The status change may have happened in the processing path (Midtrans' own "cancel"),
    # which knows no IP or reason: this row says who asked, from where, and why.
    audit_record(
        actor=actor,
        action="admin_cancel",
        entity_type="order",
        entity_id=order_id,
        old_value={"status": before},
        new_value={
            "status": result.order.status,
            "reason": reason[:200],
            "cancelled_at_midtrans": result.cancelled_at_midtrans,
        },
        correlation_id=order_id,
        ip_address=ip_address,
    )
    return result


def support_record_refund(
    *,
    order_id: str,
    user: StaffUser,
    amount: int,
    reference: str,
    reason: str,
    ip_address: str | None,
) -> RecordedRefund:
    """Record a refund done outside Midtrans (bank transfer back for VA / Mandiri bill), for a
    staff user with `supportdesk.record_refund`: the order becomes REFUNDED through the state
    machine (entitlement revoked, customer told, transition audited with the user), plus one
    `offline_refund_recorded` audit row with amount, reference, reason and IP.

    Raises `SupportPermissionDenied` (nothing done), `payments.refunds.RefundNotAllowed`
    (not PAID, wrong amount, missing reference/reason; nothing done) and `Order.DoesNotExist`."""
    if not user.has_perm(PERM_RECORD_REFUND):
        raise SupportPermissionDenied(PERM_RECORD_REFUND)
    actor = staff_actor(user.get_username())
    recorded = refund_record_offline(
        order_id=order_id, amount=amount, reference=reference, reason=reason, actor=actor
    )
    audit_record(
        actor=actor,
        action="offline_refund_recorded",
        entity_type="order",
        entity_id=order_id,
        old_value={"status": "PAID"},
        new_value={
            "status": "REFUNDED",
            "amount": amount,
            "reference": reference.strip()[:100],
            "reason": reason.strip()[:500],
            "payment_event": recorded.event_id,
        },
        correlation_id=order_id,
        ip_address=ip_address,
    )
    return recorded


# The dashboard's longest period (`selectors.PERIOD_CHOICES`) plus one day: every closed day a
# dashboard can show is recomputed by each run, so a status change weeks after the order (a
# refund, a late payment) reaches its day's row within one run.
DAILY_STATS_DAYS = max(selectors.PERIOD_CHOICES) + 1


# The hourly jobs read what changed since their last run, minus this margin: a transaction
# that stamped `updated_at` before the last run began but committed after it is read again.
CHANGED_SINCE_MARGIN = timedelta(minutes=10)
# ... and redo everything once a day: the safety net for a change that did not stamp
# `updated_at` (an UPDATE by hand in psql, a bug).
FULL_REFRESH_EVERY = timedelta(hours=24)
# More known violators than this and the check reads everything instead of passing their ids
# (a statement takes at most 65,535 parameters; at that point money and access disagree on a
# scale no incremental shortcut is worth).
KNOWN_VIOLATORS_MAX = 10_000


def daily_stats_refresh(
    *,
    now: datetime | None = None,
    days: int = DAILY_STATS_DAYS,
    full: bool = False,
    changed_since: datetime | None = None,
) -> int:
    """Bring `DailyOrderStats` up to date for the `days` closed WIB days before today (today
    is always read live), in one GROUP BY over the days it recomputes and one upsert.

    A day is recomputed when it has no row yet, when its row is older than
    FULL_REFRESH_EVERY (so once a day every day is), when it is yesterday (the newest
    `refreshed_at` thus says when the job last ran), or when one of its orders changed or got
    a payment event since the last run (`changed_since`, by default that run's time minus
    CHANGED_SINCE_MARGIN). `full` recomputes every day. An hourly run therefore reads the
    orders of the few days that moved, whatever the shop's history. Idempotent; safe to
    overlap with itself. Returns the number of day rows written."""
    now = now or timezone.now()
    today = timezone.localtime(now, selectors.WIB).date()
    first_day = today - timedelta(days=days)
    window = [first_day + timedelta(days=offset) for offset in range(days)]
    stored = dict(
        DailyOrderStats.objects.filter(day__gte=first_day, day__lt=today).values_list(
            "day", "refreshed_at"
        )
    )
    if full or not stored:
        due = set(window)
    else:
        stale = now - FULL_REFRESH_EVERY
        due = {day for day in window if stored.get(day, stale) <= stale}
        due.add(today - timedelta(days=1))
        due |= selectors.days_changed(
            since=changed_since or max(stored.values()) - CHANGED_SINCE_MARGIN,
            first_day=first_day,
            until_day=today,
        )
    figures = selectors.days_figures(sorted(due))
    rows = [DailyOrderStats(day=day, refreshed_at=now, **figures.get(day, {})) for day in due]
    DailyOrderStats.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=[*selectors.FUNNEL_FIELDS, "refreshed_at"],
    )
    logger.info("daily_stats_refresh: %s of %s day(s) from %s", len(rows), days, first_day)
    return len(rows)


def integrity_checks_run(
    *, now: datetime | None = None, full: bool = False, changed_since: datetime | None = None
) -> int:
    """The all-time invariant "no course access without PAID", checked once an hour (Beat,
    with the daily summary) instead of on every dashboard view; stored for the dashboard and,
    when broken, an ops alert (one per WIB day: it stays broken until someone fixes it).

    The hourly run reads the entitlements of the orders changed since the last check (minus
    CHANGED_SINCE_MARGIN, or `changed_since`) and the last check's violators; the first check,
    `full`, and any check FULL_REFRESH_EVERY after the last full one read every entitlement.
    Returns the number of violations."""
    now = now or timezone.now()
    last = IntegrityCheck.objects.filter(name=selectors.ACCESS_WITHOUT_PAID).first()
    if (
        full
        or last is None
        or last.full_checked_at is None
        or last.full_checked_at <= now - FULL_REFRESH_EVERY
        or len(last.violating_ids) > KNOWN_VIOLATORS_MAX
    ):
        full = True
        violating = selectors.access_without_paid_ids()
    else:
        violating = selectors.access_without_paid_ids(
            changed_since=changed_since or last.checked_at - CHANGED_SINCE_MARGIN,
            known=last.violating_ids,
        )
    violations = len(violating)
    result = {"violations": violations, "violating_ids": violating, "checked_at": now}
    if full:
        result["full_checked_at"] = now
    if last is None:
        IntegrityCheck.objects.update_or_create(name=selectors.ACCESS_WITHOUT_PAID, defaults=result)
    else:
        IntegrityCheck.objects.filter(pk=last.pk).update(**result)
    if violations:
        day = timezone.localtime(now, selectors.WIB).date()
        ops_alert_enqueue(
            dedupe_key=f"access_without_paid:{day.isoformat()}",
            subject=f"Akses kursus tanpa PAID: {violations} akses aktif",
            message=(
                f"{violations} akses kursus aktif ordernya tidak berstatus PAID (pemeriksaan "
                "per jam). Uang dan akses tidak boleh berbeda: cari di admin Entitlement "
                "(status aktif) yang ordernya bukan PAID, lalu cabut aksesnya atau periksa "
                "pembayarannya di Midtrans."
            ),
        )
    logger.info(
        "integrity_checks_run: access_without_paid=%s (%s)",
        violations,
        "full" if full else "changes",
    )
    return violations


def hourly_figures_refresh(*, now: datetime | None = None, full: bool = False) -> tuple[int, int]:
    """The hourly job behind the dashboard (Beat and `manage.py refresh_daily_stats`): the
    integrity check, then the daily summary, each over what changed since its last run (in
    full once a day, or with `full`). Returns (violations, day rows written)."""
    now = now or timezone.now()
    return integrity_checks_run(now=now, full=full), daily_stats_refresh(now=now, full=full)
