"""Invariants checked against the database after the load (SPEC §3, §5, §6, §7).

Why after the load and not in tests: the unit and concurrency tests prove these one case at a
time; here they must still hold after thousands of interleaved real requests through gunicorn,
including parallel duplicate webhooks. Each check returns the number of violations (0 = holds)
and a short description; `bench/run.py` exits non-zero when any is violated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    violations: int
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.violations == 0


def database_checks(
    *, settled_order_ids: Iterable[str], pending_only_order_ids: Iterable[str]
) -> list[Check]:
    """The database invariants. `settled_order_ids` got a signed settlement notification (and
    its duplicates); `pending_only_order_ids` only `pending` ones (and their duplicates)."""
    from django.db.models import Count, Q

    from courses.models import Entitlement
    from notifications.models import Channel, NotificationOutbox, Template
    from orders.models import Order, OrderStatus
    from payments.models import AttemptStatus, PaymentAttempt
    from supportdesk.models import AuditLog

    settled = sorted(set(settled_order_ids))
    pending_only = sorted(set(pending_only_order_ids))
    active = Entitlement.Status.ACTIVE
    live_attempts = PaymentAttempt.objects.filter(status=AttemptStatus.PENDING).exclude(
        redirect_url=""
    )
    checks = [
        Check(
            "no order with two entitlements",
            Entitlement.objects.values("order").annotate(n=Count("id")).filter(n__gt=1).count(),
        ),
        Check(
            "one automatic outbox row per (order, channel, template)",
            duplicate_automatic_messages(),
        ),
        Check(
            "PAID => paid_at set and an ACTIVE entitlement",
            Order.objects.filter(status=OrderStatus.PAID)
            .filter(
                Q(paid_at__isnull=True)
                | ~Q(order_id__in=Entitlement.objects.filter(status=active).values("order_id"))
            )
            .count(),
        ),
        Check(
            "ACTIVE entitlement => order PAID",
            Entitlement.objects.filter(status=active)
            .exclude(order__status=OrderStatus.PAID)
            .count(),
        ),
        Check(
            "PAID => a COMPLETED payment attempt",
            Order.objects.filter(status=OrderStatus.PAID)
            .exclude(
                order_id__in=PaymentAttempt.objects.filter(status=AttemptStatus.COMPLETED).values(
                    "order_id"
                )
            )
            .count(),
        ),
        Check(
            "PENDING_PAYMENT => a live Snap attempt (PENDING, redirect_url)",
            Order.objects.filter(status=OrderStatus.PENDING_PAYMENT)
            .exclude(order_id__in=live_attempts.values("order_id"))
            .count(),
        ),
        Check(
            "pending-only orders stay PENDING_PAYMENT",
            len(pending_only)
            - Order.objects.filter(
                order_id__in=pending_only, status=OrderStatus.PENDING_PAYMENT
            ).count(),
            f"{len(pending_only)} orders got only pending",
        ),
        Check(
            "every settled order is PAID",
            len(settled)
            - Order.objects.filter(order_id__in=settled, status=OrderStatus.PAID).count(),
            f"{len(settled)} orders got a settlement",
        ),
    ]
    paid_transitions = (
        AuditLog.objects.filter(
            action="order_status_changed",
            entity_type="order",
            entity_id__in=settled,
            new_value__status=OrderStatus.PAID,
        )
        .values("entity_id")
        .annotate(n=Count("id"))
    )
    checks.append(
        Check(
            "exactly one PAID transition per settled order",
            sum(1 for row in paid_transitions if row["n"] != 1)
            + len(settled)
            - len(paid_transitions),
        )
    )
    success_rows = (
        NotificationOutbox.objects.filter(
            order_id__in=settled,
            template_name=Template.PAYMENT_SUCCESS_ACCESS,
            resend_of__isnull=True,
        )
        .values("order_id", "channel")
        .annotate(n=Count("id"))
    )
    per_order: dict[str, int] = {}
    wrong = 0
    for row in success_rows:
        per_order[row["order_id"]] = per_order.get(row["order_id"], 0) + 1
        wrong += row["n"] != 1
    wrong += sum(1 for order_id in settled if per_order.get(order_id) != len(Channel.values))
    checks.append(Check("one success email + one success WhatsApp per settled order", wrong))
    return checks


def order_status_counts() -> dict[str, int]:
    """How the orders ended up, for the report."""
    from django.db.models import Count

    from orders.models import Order

    rows = Order.objects.order_by().values("status").annotate(n=Count("order_id"))
    return {row["status"]: row["n"] for row in rows}


def crash_invariants() -> list[Check]:
    """What must hold after any crash, restart or restore, whatever the load was (issue 10
    point 10; `make chaos` and the restore drill call it against their own database after the
    sweeps ran). Each check is one SQL query through the ORM; the last one only counts
    (`violations` 0): WhatsApp messages of one outbox row sent more than once are the
    documented at-least-once window, reported by `make chaos` from the gateway's log."""
    from django.db.models import Count, Exists, OuterRef, Q
    from django.utils import timezone

    from courses.models import Entitlement
    from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
    from orders.models import Order, OrderStatus
    from payments.models import PaymentEvent
    from supportdesk.models import AuditLog

    active = Entitlement.Status.ACTIVE
    paid = Order.objects.filter(status=OrderStatus.PAID)
    success_rows = NotificationOutbox.objects.filter(
        order=OuterRef("pk"), template_name=Template.PAYMENT_SUCCESS_ACCESS, resend_of__isnull=True
    )
    missing_success = 0
    for channel in Channel.values:
        missing_success += (
            paid.annotate(has=Exists(success_rows.filter(channel=channel)))
            .filter(has=False)
            .count()
        )
    paid_transitions = dict(
        AuditLog.objects.filter(
            action="order_status_changed",
            entity_type="order",
            new_value__status=OrderStatus.PAID,
        )
        .values_list("entity_id")
        .annotate(n=Count("id"))
        .values_list("entity_id", "n")
    )
    paid_ids = set(paid.values_list("order_id", flat=True))
    return [
        Check(
            "PAID => an ACTIVE entitlement",
            paid.exclude(
                order_id__in=Entitlement.objects.filter(status=active).values("order_id")
            ).count(),
            f"{len(paid_ids)} PAID orders",
        ),
        Check("PAID => success email and success WhatsApp rows", missing_success),
        Check(
            "ACTIVE entitlement => order PAID",
            Entitlement.objects.filter(status=active)
            .exclude(order__status=OrderStatus.PAID)
            .count(),
        ),
        Check(
            "no duplicate automatic message (order, channel, template)",
            duplicate_automatic_messages(),
        ),
        Check(
            "no SENDING row with an expired lease",
            NotificationOutbox.objects.filter(status=OutboxStatus.SENDING)
            .filter(Q(locked_until__lt=timezone.now()) | Q(locked_until__isnull=True))
            .count(),
        ),
        Check(
            "every stored payment event processed",
            PaymentEvent.objects.filter(outcome="").count(),
            f"{PaymentEvent.objects.count()} events",
        ),
        Check(
            "exactly one PAID transition per PAID order",
            sum(1 for order_id in paid_ids if paid_transitions.get(order_id) != 1)
            + sum(1 for order_id in paid_transitions if order_id not in paid_ids),
        ),
    ]


def duplicate_automatic_messages() -> int:
    """(order, channel, template) groups with more than one automatic outbox row."""
    from django.db.models import Count

    from notifications.models import NotificationOutbox

    return (
        NotificationOutbox.objects.filter(
            resend_of__isnull=True, dedupe_key__isnull=True, order__isnull=False
        )
        .values("order", "channel", "template_name")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
