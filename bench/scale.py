"""`make bench-scale`: how the shop behaves with years of data (issue: costs that stay flat).

Seeds a PostgreSQL database (`<DATABASE_URL name>_scale`, recreated; `--keep` keeps it) with a
realistic history — orders with their attempts, payment events, outbox messages,
entitlements, customers and audit rows — with `COPY`, first at `--small` orders (default 10k),
times every hot operation, grows the same database to `--orders` (default 1M over `--days`,
three years: ~900 orders a day; the 10k are the latest ~11 days of the same shop, so growing
means a longer history at the same daily rate, as a real shop grows),
times again, and prints both sizes, the ratio and each operation's query plan (a sequential
scan over a big table is named). The goal: every operation grows at most 2x; a missed goal is
a FAIL row, exit 1 means an operation could not run at all (the tool itself is broken).

Rows are generated from the models' own fields: a column the seeder does not know gets the
field's default (or NULL/empty when allowed), so new columns do not break it.
Operations are timed in-process through Django's test client (admin, dashboard, status API,
signed webhook) and by calling the selections of the scheduled jobs and the outbox claim;
each timing is the median of `--repeat` runs after one warm-up. Exit 2 without PostgreSQL.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlparse, urlunparse

BIG_TABLES = (
    "orders_order",
    "payments_paymentattempt",
    "payments_paymentevent",
    "notifications_notificationoutbox",
    "courses_entitlement",
    "supportdesk_auditlog",
    "auth_user",
)
# Operations named so run once a day, off every hot path (the hourly jobs' safety net): shown
# with their growth and plans, not judged by the 2x goal (docs/decisions.md, issue 16).
DAILY = "daily job:"
SERVER_KEY = "SB-Mid-server-SCALE-LOCAL-ONLY"  # nothing real: the webhook is signed with it


def _scale_database_url() -> tuple[str, str, str]:
    """(admin URL on the `postgres` db, scale URL, scale db name) from DATABASE_URL."""
    url = os.environ.get("DATABASE_URL", "")
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        print("bench-scale needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        raise SystemExit(2)
    name = f"{parsed.path.lstrip('/') or 'buatfilm'}_scale"
    return (
        urlunparse(parsed._replace(path="/postgres")),
        urlunparse(parsed._replace(path=f"/{name}")),
        name,
    )


def _recreate_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Seeding ---------------------------------------------------------------------------------


class Copier:
    """COPY rows of one model: explicit values for the named fields, the model's defaults for
    the rest (NULL or '' where the field allows it)."""

    def __init__(self, model: Any) -> None:
        from django.db import models

        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self._fallback: dict[str, Callable[[], Any]] = {}
        for f in self.fields:
            if f.has_default():
                self._fallback[f.attname] = f.get_default
            elif f.null:
                self._fallback[f.attname] = lambda: None
            elif isinstance(f, models.CharField | models.TextField) and f.blank:
                self._fallback[f.attname] = lambda: ""
        self._json = {f.attname for f in self.fields if isinstance(f, models.JSONField)}

    def copy(self, rows: Iterator[dict[str, Any]]) -> int:
        from django.db import connection, models

        first = next(rows, None)
        if first is None:
            return 0
        pk = self.model._meta.pk
        if isinstance(pk, models.AutoField) and pk.attname not in first:
            # The database numbers the rows itself.
            self.fields = [f for f in self.fields if f is not pk]
        table = self.model._meta.db_table
        cols = ", ".join(f'"{f.column}"' for f in self.fields)
        count = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor
            with raw.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in itertools.chain([first], rows):
                    copy.write_row(self._values(row))
                    count += 1
        return count

    def _values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for f in self.fields:
            name = f.attname
            if name in row:
                value = row[name]
            elif name in self._fallback:
                value = self._fallback[name]()
            else:
                raise KeyError(f"{self.model.__name__}.{name} has no default: give it a value")
            if name in self._json and value is not None:
                value = json.dumps(value)
            out.append(value)
        return tuple(out)


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def _reset_sequences(models: Sequence[Any]) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)


@dataclass
class Seeded:
    orders: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    sample_paid: list[str] = field(default_factory=list)
    sample_email: str = ""
    sample_phone: str = ""
    sample_midtrans_id: str = ""
    sample_transaction_id: str = ""
    sample_va: str = ""


# (status, weight): what years of a shop with ~100 abandoned checkouts a day look like.
STATUS_MIX = (
    ("PAID", 45),
    ("EXPIRED", 40),
    ("FAILED", 10),
    ("REFUNDED", 1),
    ("CREATED", 2),
)
IN_FLIGHT_ORDERS = 60
METHODS = ("bca_va", "bni_va", "echannel", "gopay", "shopeepay", "dana", "other_qris")


def seed(
    *,
    start: int,
    count: int,
    now: datetime,
    seeded: Seeded,
    rng: random.Random,
    seconds_per_order: float,
) -> None:
    """Append orders `start .. start+count-1` (and everything that hangs off them). Orders
    arrive at a steady rate, one per `seconds_per_order`, newest first: order `i` is about
    `i * seconds_per_order` old, so a bigger database is the same shop with a longer history
    (a day or a fortnight holds as many orders at 10k as at 1M), not a busier one."""
    from django.contrib.auth import get_user_model

    from courses.models import Entitlement, Package
    from notifications.models import NotificationOutbox
    from orders.models import Order
    from payments.models import PaymentAttempt, PaymentEvent
    from supportdesk.models import AuditLog

    User = get_user_model()
    packages = list(Package.objects.select_related("course"))
    statuses = [s for s, w in STATUS_MIX for _ in range(w)]

    orders: list[dict[str, Any]] = []
    for i in range(start, start + count):
        package = packages[i % len(packages)]
        # Orders in flight today: a day's worth, however long the history behind them.
        recent = i < IN_FLIGHT_ORDERS
        created = now - timedelta(
            seconds=rng.uniform(60, 20 * 3600) if recent else (i + rng.random()) * seconds_per_order
        )
        status = "PENDING_PAYMENT" if recent else rng.choice(statuses)
        discount = package.price // 10 if i % 7 == 0 else 0
        orders.append(
            {
                "order_id": f"BF-{created:%Y%m%d}-S{i:09d}",
                "i": i,
                "package": package,
                "status": status,
                "created": created,
                "method": METHODS[i % len(METHODS)],
                "email": f"pelanggan{i // 2}@contoh.id",
                "phone": f"+62812{i // 2:08d}",
                "base": package.price,
                "discount": discount,
            }
        )

    def order_rows() -> Iterator[dict[str, Any]]:
        for o in orders:
            c = o["created"]
            paid = c + timedelta(minutes=30) if o["status"] in ("PAID", "REFUNDED") else None
            refunded = paid + timedelta(days=3) if paid and o["status"] == "REFUNDED" else None
            # When the order last changed: its last transition (never in the future), as the
            # hourly jobs read it.
            changed = {
                "PAID": paid,
                "REFUNDED": refunded,
                "FAILED": c + timedelta(hours=1),
                "EXPIRED": c + timedelta(hours=24),
            }.get(o["status"]) or c + timedelta(minutes=1)
            yield {
                "order_id": o["order_id"],
                "package_id": o["package"].pk,
                "package_code": o["package"].code,
                "package_name": o["package"].name,
                "base_amount": o["base"],
                "discount_code": "HEMAT10" if o["discount"] else "",
                "discount_amount": o["discount"],
                "final_amount": o["base"] - o["discount"],
                "payment_method": o["method"],
                "customer_name": f"Pelanggan {o['i'] // 2}",
                "customer_email": o["email"],
                "customer_phone": o["phone"],
                "status": o["status"],
                "created_at": c,
                "updated_at": min(changed, now),
                "expires_at": c + timedelta(hours=24),
                "paid_at": paid,
                "failed_at": c + timedelta(hours=1) if o["status"] == "FAILED" else None,
                "expired_at": c + timedelta(hours=24) if o["status"] == "EXPIRED" else None,
                "refunded_at": refunded,
            }

    seeded.rows["orders"] = seeded.rows.get("orders", 0) + Copier(Order).copy(order_rows())

    attempt_id = _next_id(PaymentAttempt)
    attempts: list[tuple[int, dict[str, Any]]] = []
    for o in orders:
        if o["status"] == "CREATED":
            continue
        attempt_id += 1
        attempts.append((attempt_id, o))

    def attempt_rows() -> Iterator[dict[str, Any]]:
        for aid, o in attempts:
            st = {"PAID": "COMPLETED", "REFUNDED": "COMPLETED", "PENDING_PAYMENT": "PENDING"}
            va = f"8808{o['i']:012d}" if o["method"].endswith("_va") else ""
            yield {
                "id": aid,
                "order_id": o["order_id"],
                "sequence": 1,
                "midtrans_order_id": f"{o['order_id']}-1",
                "amount": o["base"] - o["discount"],
                "payment_method": o["method"],
                "status": st.get(o["status"], "FAILED"),
                "snap_token": f"tok-{o['i']}",
                "redirect_url": f"https://app.sandbox.midtrans.com/snap/v4/redirection/tok-{o['i']}",
                "midtrans_transaction_id": f"{o['i']:08d}-0000-4000-8000-{o['i']:012d}",
                "transaction_status": "settlement" if o["status"] == "PAID" else "pending",
                "payment_type": "bank_transfer" if va else o["method"],
                "va_number": va,
                "bank": o["method"].removesuffix("_va") if va else "",
                "bill_key": f"{o['i']:012d}" if o["method"] == "echannel" else "",
                "biller_code": "70012" if o["method"] == "echannel" else "",
                "created_at": o["created"],
                "updated_at": o["created"] + timedelta(minutes=30),
            }

    seeded.rows["attempts"] = seeded.rows.get("attempts", 0) + Copier(PaymentAttempt).copy(
        attempt_rows()
    )

    def event_rows() -> Iterator[dict[str, Any]]:
        final = {"PAID": "settlement", "REFUNDED": "settlement", "EXPIRED": "expire"}
        final.update({"FAILED": "deny"})
        for aid, o in attempts:
            mid = f"{o['order_id']}-1"
            tid = f"{o['i']:08d}-0000-4000-8000-{o['i']:012d}"
            for n, status in enumerate(("pending", final.get(o["status"]))):
                if status is None:
                    continue
                code = {"pending": "201", "settlement": "200", "expire": "407"}.get(status, "202")
                yield {
                    "idempotency_key": f"{tid}:{status}::{code}:{o['base'] - o['discount']}.00",
                    "source": "webhook",
                    "attempt_id": aid,
                    "order_id": o["order_id"],
                    "midtrans_order_id": mid,
                    "transaction_id": tid,
                    "transaction_status": status,
                    "status_code": code,
                    "payment_type": o["method"],
                    "gross_amount": f"{o['base'] - o['discount']}.00",
                    "raw_payload": {"order_id": mid, "transaction_status": status},
                    "signature_valid": True,
                    "outcome": "paid" if status == "settlement" else "pending_recorded",
                    "received_at": o["created"] + timedelta(minutes=1 + 29 * n),
                }

    seeded.rows["events"] = seeded.rows.get("events", 0) + Copier(PaymentEvent).copy(event_rows())

    def outbox_rows() -> Iterator[dict[str, Any]]:
        for o in orders:
            templates = ["payment_instruction"]
            if o["status"] in ("PAID", "REFUNDED"):
                templates.append("payment_success_access")
            elif o["status"] == "EXPIRED":
                templates += ["payment_reminder", "order_expired"]
            for template in templates:
                for channel, recipient in (("EMAIL", o["email"]), ("WHATSAPP", o["phone"])):
                    yield {
                        "order_id": o["order_id"],
                        "channel": channel,
                        "template_name": template,
                        "recipient": recipient,
                        "context": {"order_id": o["order_id"]},
                        "status": "PENDING" if o["status"] == "PENDING_PAYMENT" else "SENT",
                        "attempt_count": 0 if o["status"] == "PENDING_PAYMENT" else 1,
                        "created_at": o["created"],
                        "updated_at": o["created"] + timedelta(minutes=1),
                        "sent_at": None
                        if o["status"] == "PENDING_PAYMENT"
                        else o["created"] + timedelta(minutes=1),
                    }

    seeded.rows["outbox"] = seeded.rows.get("outbox", 0) + Copier(NotificationOutbox).copy(
        outbox_rows()
    )

    paid = [o for o in orders if o["status"] in ("PAID", "REFUNDED")]
    user_id = _next_id(User)
    users: dict[str, int] = {}

    def user_rows() -> Iterator[dict[str, Any]]:
        nonlocal user_id
        for o in paid:
            if o["email"] in users:
                continue
            users[o["email"]] = user_id
            yield {
                "id": user_id,
                "username": o["email"],
                "email": o["email"],
                "password": "!",
                "first_name": "",
                "last_name": "",
                "is_staff": False,
                "is_superuser": False,
                "is_active": True,
                "date_joined": o["created"],
            }
            user_id += 1

    # In chunks: a statement takes at most 65,535 parameters (server-side binding).
    emails = sorted({o["email"] for o in paid})
    for first in range(0, len(emails), 10_000):
        chunk = emails[first : first + 10_000]
        users.update(User.objects.filter(email__in=chunk).values_list("email", "id"))
    seeded.rows["users"] = seeded.rows.get("users", 0) + Copier(User).copy(user_rows())

    def entitlement_rows() -> Iterator[dict[str, Any]]:
        for o in paid:
            yield {
                "order_id": o["order_id"],
                "user_id": users[o["email"]],
                "course_id": o["package"].course_id,
                "status": "REVOKED" if o["status"] == "REFUNDED" else "ACTIVE",
                "granted_at": o["created"] + timedelta(minutes=30),
            }

    seeded.rows["entitlements"] = seeded.rows.get("entitlements", 0) + Copier(Entitlement).copy(
        entitlement_rows()
    )

    def audit_rows() -> Iterator[dict[str, Any]]:
        for o in orders:
            steps = [("CREATED", "PENDING_PAYMENT")] if o["status"] != "CREATED" else []
            if o["status"] not in ("CREATED", "PENDING_PAYMENT"):
                steps.append(
                    ("PENDING_PAYMENT", "PAID" if o["status"] == "REFUNDED" else o["status"])
                )
            if o["status"] == "REFUNDED":
                steps.append(("PAID", "REFUNDED"))
            for n, (old, new) in enumerate(steps):
                yield {
                    "actor": "system:webhook",
                    "action": "order_transition",
                    "entity_type": "order",
                    "entity_id": o["order_id"],
                    "old_value": {"status": old},
                    "new_value": {"status": new},
                    "correlation_id": o["order_id"],
                    "created_at": o["created"] + timedelta(minutes=30 * n),
                }

    seeded.rows["audit"] = seeded.rows.get("audit", 0) + Copier(AuditLog).copy(audit_rows())
    _reset_sequences(
        [PaymentAttempt, PaymentEvent, NotificationOutbox, Entitlement, User, AuditLog]
    )

    seeded.orders += count
    for o in orders[-5000:]:
        if o["status"] == "PAID" and len(seeded.sample_paid) < 50:
            seeded.sample_paid.append(o["order_id"])
    middle = orders[len(orders) // 2]
    seeded.sample_email = middle["email"]
    seeded.sample_phone = "0812" + middle["phone"].removeprefix("+62812")
    seeded.sample_midtrans_id = f"{middle['order_id']}-1"
    seeded.sample_transaction_id = f"{middle['i']:08d}-0000-4000-8000-{middle['i']:012d}"
    va_order = next(
        o for o in reversed(orders) if o["method"] == "bca_va" and o["status"] != "CREATED"
    )
    seeded.sample_va = f"8808{va_order['i']:012d}"


# --- Operations ------------------------------------------------------------------------------


@dataclass
class Measurement:
    name: str
    ms: float
    queries: int
    plan: str  # the slowest query's plan, first lines
    seq_scans: list[str]


def _explain(
    sql: str, params: Sequence[Any] | None, local: Sequence[str] = ()
) -> tuple[str, list[str]]:
    """The plan of one captured query, with the `SET LOCAL`s its operation ran (`local`,
    e.g. `buatfilm.db.serial_plan`) applied first, so the plan is the one that ran."""
    from django.db import connection, transaction

    if not sql.lstrip().upper().startswith("SELECT"):
        return "(not a SELECT)", []
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in local:
            cursor.execute(statement)
        cursor.execute("EXPLAIN " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    seq = [t for line in lines for t in BIG_TABLES if "Seq Scan on " + t in line]
    return "\n".join(lines[:6]), sorted(set(seq))


def measure(name: str, operation: Callable[[], Any], repeat: int) -> Measurement:
    from django.db import connection

    captured: list[tuple[float, str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            captured.append((time.perf_counter() - t0, sql, params))

    operation()  # warm-up: caches, first-use imports, plan cache
    timings = []
    for _ in range(repeat):
        captured.clear()
        with connection.execute_wrapper(wrapper):
            t0 = time.perf_counter()
            operation()
            timings.append((time.perf_counter() - t0) * 1000)
    slowest = max(captured, default=(0.0, "", None), key=lambda c: c[0])
    local = [sql for _, sql, _ in captured if sql.upper().startswith("SET LOCAL")]
    plan, seq = _explain(slowest[1], slowest[2], local) if slowest[1] else ("(no query)", [])
    all_seq: set[str] = set(seq)
    for _, sql, params in captured:
        all_seq.update(_explain(sql, params, local)[1])
    return Measurement(name, statistics.median(timings), len(captured), plan, sorted(all_seq))


def operations(seeded: Seeded) -> list[tuple[str, Callable[[], Any]]]:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from devtools.midtrans_simulator import sign_notification
    from orders.models import Order
    from supportdesk.services import daily_stats_refresh, integrity_checks_run

    User = get_user_model()
    admin_user, _ = User.objects.get_or_create(
        username="scale-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    staff = Client()
    staff.force_login(admin_user)
    public = Client()
    changelist = reverse("admin:orders_order_changelist")
    paid_id = (
        seeded.sample_paid[0]
        if seeded.sample_paid
        else Order.objects.values_list("pk", flat=True)[0]
    )
    pending = Order.objects.filter(status="PENDING_PAYMENT").order_by("-created_at").first()
    assert pending is not None
    webhook_url = reverse("payments:midtrans_notification")

    def get_ok(client: Client, url: str, **extra: Any) -> None:
        response = client.get(url, **extra)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")

    def webhook() -> None:
        # A signed duplicate-safe pending notification for a live order: the full path runs
        # (signature, lookup, lock, insert attempt, outcome) without changing the order.
        attempt = pending.attempts.order_by("-sequence").first()
        assert attempt is not None
        body = {
            "order_id": attempt.midtrans_order_id,
            "status_code": "201",
            "gross_amount": f"{attempt.amount}.00",
            "transaction_status": "pending",
            "transaction_id": attempt.midtrans_transaction_id,
            "payment_type": "bank_transfer",
            "fraud_status": "accept",
        }
        body["signature_key"] = sign_notification(
            body["order_id"], body["status_code"], body["gross_amount"], SERVER_KEY
        )
        response = public.post(webhook_url, json.dumps(body), content_type="application/json")
        if response.status_code >= 300:
            raise RuntimeError(f"webhook answered {response.status_code}")

    def rolled_back(job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            with transaction.atomic():
                job()
                transaction.set_rollback(True)

        return run

    def expire_selection() -> None:
        list(
            Order.objects.filter(
                status="PENDING_PAYMENT", expires_at__lte=timezone.now()
            ).values_list("pk", flat=True)[:500]
        )

    def reconcile_selection() -> None:
        from payments import selectors

        # The job's own selection, with the job's settings for whatever parameters it takes.
        select: Callable[..., Any] = selectors.orders_to_reconcile
        known = {
            "now": timezone.now(),
            "pending_after_minutes": 15,
            "recent_hours": 48,
            "limit": 200,
            "pending_limit": 200,
            "recent_limit": 100,
        }
        params = inspect.signature(select).parameters
        result = select(**{k: v for k, v in known.items() if k in params})
        list(result) if result is not None else None

    def reminders() -> None:
        from orders.services import reminders_send_due

        reminders_send_due()

    def hourly(job: Callable[..., Any]) -> Callable[[], None]:
        # An hourly run reads what changed since the last one: an hour ago (plus its margin).
        from supportdesk.services import CHANGED_SINCE_MARGIN

        return rolled_back(
            lambda: job(changed_since=timezone.now() - timedelta(hours=1) - CHANGED_SINCE_MARGIN)
        )

    def outbox_claim() -> None:
        from notifications.services import outbox_claim_due

        outbox_claim_due(limit=50, worker_id="bench-scale")

    return [
        ("admin search: email", lambda: get_ok(staff, changelist, data={"q": seeded.sample_email})),
        ("admin search: phone", lambda: get_ok(staff, changelist, data={"q": seeded.sample_phone})),
        (
            "admin search: Midtrans order id",
            lambda: get_ok(staff, changelist, data={"q": seeded.sample_midtrans_id}),
        ),
        (
            "admin search: transaction id",
            lambda: get_ok(staff, changelist, data={"q": seeded.sample_transaction_id}),
        ),
        (
            "admin search: VA number",
            lambda: get_ok(staff, changelist, data={"q": seeded.sample_va}),
        ),
        ("admin order changelist", lambda: get_ok(staff, changelist)),
        (
            "admin order change page",
            lambda: get_ok(staff, reverse("admin:orders_order_change", args=[paid_id])),
        ),
        ("dashboard", lambda: get_ok(staff, reverse("supportdesk:dashboard"))),
        (
            "status API",
            lambda: get_ok(
                public,
                reverse("api:order_detail", args=[pending.order_id]),
                HTTP_X_ORDER_KEY=pending.access_key,
            ),
        ),
        ("webhook (pending, signed)", webhook),
        ("job: expire selection", expire_selection),
        ("job: reconcile selection", reconcile_selection),
        ("job: reminders (rolled back)", rolled_back(reminders)),
        ("outbox claim (rolled back)", rolled_back(outbox_claim)),
        # Hourly, not per request: the orders of the days that changed in the last hour.
        ("job: daily summary (rolled back)", hourly(daily_stats_refresh)),
        ("job: integrity check (rolled back)", hourly(integrity_checks_run)),
        # Once a day, the safety net of both: every day of the summary, every entitlement.
        (f"{DAILY} daily summary in full", rolled_back(partial(daily_stats_refresh, full=True))),
        (f"{DAILY} integrity check in full", rolled_back(partial(integrity_checks_run, full=True))),
    ]


def run_all(seeded: Seeded, repeat: int) -> dict[str, Measurement]:
    results = {}
    for name, op in operations(seeded):
        try:
            results[name] = measure(name, op, repeat)
        except Exception as exc:  # one broken operation must not hide the others
            results[name] = Measurement(name, float("nan"), 0, f"ERROR: {exc!r}"[:300], [])
    return results


def _bulk_load_mode(on: bool) -> None:
    """While seeding: skip the per-row foreign-key triggers (the generator writes consistent
    rows) and don't wait for WAL flushes. Needs a superuser, as the CI database user is."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET session_replication_role = {'replica' if on else 'DEFAULT'}")
        cursor.execute(f"SET synchronous_commit = {'off' if on else 'on'}")


def _summary_refresh() -> None:
    """What Beat keeps current in production: the dashboard's daily summary."""
    from supportdesk.services import hourly_figures_refresh

    hourly_figures_refresh()


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def report(
    small: Seeded, small_n: int, big_n: int, a: dict[str, Measurement], b: dict[str, Measurement]
) -> bool:
    print()
    print(
        f"{'operation':34} {f'{small_n:,} orders':>14} {f'{big_n:,} orders':>14} "
        f"{'ratio':>7}  verdict  seq scans"
    )
    ok = True
    for name, m_small in a.items():
        m_big = b[name]
        ratio = m_big.ms / m_small.ms if m_small.ms and m_small.ms == m_small.ms else float("nan")
        good = ratio <= 2.0 and not m_big.seq_scans
        judged = not name.startswith(DAILY)
        ok &= good or not judged
        verdict = ("ok  " if good else "FAIL") if judged else "info"
        print(
            f"{name:34} {m_small.ms:11.1f} ms {m_big.ms:11.1f} ms {ratio:6.2f}x  "
            f"{verdict}     {', '.join(m_big.seq_scans) or '-'}"
        )
    print()
    print("Query plans at the full size (the slowest query of each operation):")
    for name, m in b.items():
        print(f"-- {name} ({m.queries} queries)")
        for line in m.plan.splitlines():
            print(f"     {line}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="full size (default 1M)")
    parser.add_argument("--small", type=int, default=10_000, help="first size (default 10k)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per operation")
    parser.add_argument("--keep", action="store_true", help="keep the *_scale database")
    parser.add_argument(
        "--days", type=int, default=3 * 365, help="history the full size spans (3 years)"
    )
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)
    if args.orders <= args.small:
        parser.error("--orders must be larger than --small")

    admin_url, scale_url, name = _scale_database_url()
    _recreate_database(admin_url, name)
    os.environ["DATABASE_URL"] = scale_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "buatfilm.settings.test"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    try:
        import django
        from django.conf import settings
        from django.core.management import call_command
        from django.test.utils import setup_test_environment

        django.setup()
        setup_test_environment()
        settings.MIDTRANS_SERVER_KEY = SERVER_KEY
        settings.ALLOWED_HOSTS = ["testserver"]
        call_command("migrate", verbosity=0)
        call_command("seed_catalog", verbosity=0)
        rng = random.Random(args.seed)  # noqa: S311  (synthetic data, not secrets)
        now = datetime.now(UTC)
        seeded = Seeded()
        rate = {"seconds_per_order": args.days * 86400 / args.orders}

        _bulk_load_mode(True)
        t0 = time.perf_counter()
        seed(start=0, count=args.small, now=now, seeded=seeded, rng=rng, **rate)
        _vacuum()
        _summary_refresh()
        print(
            f"bench-scale: seeded {args.small:,} orders in {time.perf_counter() - t0:.1f} s; timing"
        )
        small = run_all(seeded, args.repeat)

        _bulk_load_mode(True)
        t0 = time.perf_counter()
        step = 200_000
        done = args.small
        while done < args.orders:
            n = min(step, args.orders - done)
            seed(start=done, count=n, now=now, seeded=seeded, rng=rng, **rate)
            done += n
            print(f"bench-scale: {done:,} orders ({time.perf_counter() - t0:.0f} s)", flush=True)
        _bulk_load_mode(False)
        _vacuum()
        _summary_refresh()
        rows = ", ".join(f"{k} {v:,}" for k, v in seeded.rows.items())
        print(
            f"bench-scale: seeded up to {done:,} orders in {time.perf_counter() - t0:.1f} s "
            f"({rows}); timing"
        )
        big = run_all(seeded, args.repeat)
        ok = report(seeded, args.small, args.orders, small, big)
        print()
        print(
            "bench-scale: every operation within 2x and index-backed"
            if ok
            else "bench-scale: some operations grow (FAIL rows above)"
        )
        broken = [m.name for m in (*small.values(), *big.values()) if m.plan.startswith("ERROR")]
        if broken:
            print(f"bench-scale: could not run: {', '.join(sorted(set(broken)))}", file=sys.stderr)
            return 1
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database(admin_url, name)


if __name__ == "__main__":
    raise SystemExit(main())
