"""`make restore-drill`: prove a backup can be restored (docs/operations.md, "Restore").

1. Source: a fresh `<name>_drill_src` database on the DATABASE_URL server, migrated and filled
   through the real state machine (orders in every status, payments, entitlements, outbox rows,
   audit rows) — or, with `--source-url`, an existing database (a staging copy) used read-only.
2. `pg_dump -Fc` of the source into `var/restore-drill/`.
3. `pg_restore` into a fresh, empty `<name>_drill_restored` database.
4. On the restored copy: no migration missing, every table holds as many rows as in the
   source, and the invariants of `bench.checks` hold (`database_checks`, as after `make bench`,
   and `crash_invariants`, as after `make chaos`).

Exit code 0 when all of that holds, 1 when a check fails, 2 when the drill could not run.
The drill databases are dropped afterwards (`--keep` keeps them). Needs `pg_dump`/`pg_restore`
of the server's major version (CI installs Debian's postgresql, which provides both).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "restore-drill"
SOURCE_SUFFIX = "_drill_src"
RESTORED_SUFFIX = "_drill_restored"


class DrillError(Exception):
    pass


def _with_name(database_url: str, suffix: str) -> str:
    parts = urlsplit(database_url)
    name = (parts.path.lstrip("/") or "buatfilm").removesuffix(SOURCE_SUFFIX)
    return urlunsplit(parts._replace(path=f"/{name}{suffix}"))


def _libpq(database_url: str) -> str:
    """django-environ accepts `postgres://`; libpq tools want `postgresql://`."""
    return urlunsplit(urlsplit(database_url)._replace(scheme="postgresql"))


def _recreate(database_url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.endswith((SOURCE_SUFFIX, RESTORED_SUFFIX)):
        raise DrillError(f"refusing to recreate {name!r}: not a drill database")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _step(step: str, database_url: str, seeded: dict | None = None) -> dict:
    """Run one Django step in a child process on `database_url`; returns its JSON answer."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "buatfilm.settings.test",
        "LOG_LEVEL": "WARNING",
        "DRILL_SEEDED": json.dumps(seeded or {}),
    }
    result = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bench.restore_drill", "--step", step],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise DrillError(f"step {step} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run(command: list[str]) -> None:
    result = subprocess.run(  # noqa: S603 (pg_dump / pg_restore with our arguments)
        command, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise DrillError(f"{command[0]} failed ({result.returncode}):\n{result.stderr[-4000:]}")


# --- Steps run inside Django (child processes) ------------------------------------------------


def step_seed() -> dict:
    """Migrate and fill the source the way production data comes to be: checkout-shaped orders
    with a live Snap attempt, settled through the real webhook processing (attempt COMPLETED,
    entitlement, outbox rows, audit rows), and the other statuses through legal transitions."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from courses.services import catalog_seed
    from orders.models import OrderStatus
    from orders.tests.lifecycle import order_in
    from payments.models import EventSource, PaymentAttempt
    from payments.processing import payment_notification_process
    from payments.tests.factories import PaymentAttemptFactory
    from payments.tests.webhook_cases import midtrans_body

    catalog_seed()
    settled: list[str] = []
    pending_only: list[str] = []
    for index in range(6):
        order = order_in(OrderStatus.PENDING_PAYMENT)
        attempt = cast(
            PaymentAttempt,
            PaymentAttemptFactory(
                order=order,
                redirect_url=f"https://app.sandbox.midtrans.com/snap/v4/redirection/drill-{index}",
            ),
        )
        if index % 2 == 0:
            payment_notification_process(
                payload=midtrans_body(attempt, "settlement"),
                source=EventSource.WEBHOOK,
                remote_ip="127.0.0.1",
            )
            settled.append(order.order_id)
        else:
            pending_only.append(order.order_id)
    for status in (OrderStatus.CREATED, OrderStatus.FAILED, OrderStatus.EXPIRED):
        for _ in range(2):
            order_in(status)
    return {"settled": settled, "pending_only": pending_only}


def step_report() -> dict:
    """Row counts of every table, pending migrations and the invariants, as JSON."""
    from django.apps import apps
    from django.core.management import call_command

    from bench.checks import crash_invariants, database_checks

    counts = {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }
    try:
        call_command("migrate", "--check", verbosity=0)
        migrations_pending = False
    except SystemExit:
        migrations_pending = True
    seeded = json.loads(os.environ.get("DRILL_SEEDED") or "{}")
    checks = (
        database_checks(
            settled_order_ids=seeded.get("settled", []),
            pending_only_order_ids=seeded.get("pending_only", []),
        )
        + crash_invariants()
    )
    return {
        "counts": counts,
        "migrations_pending": migrations_pending,
        "checks": [{"name": c.name, "violations": c.violations} for c in checks],
    }


# --- The drill ------------------------------------------------------------------------------


def drill(database_url: str, *, source_url: str | None, keep: bool) -> int:
    if urlsplit(database_url).scheme not in ("postgres", "postgresql", "pgsql"):
        raise DrillError("DATABASE_URL must be PostgreSQL: the drill dumps and restores it")
    for tool in ("pg_dump", "pg_restore"):
        if not shutil.which(tool):
            raise DrillError(f"{tool} not found (apt-get install postgresql-client)")
    restored = _with_name(source_url or database_url, RESTORED_SUFFIX)
    source = source_url or _with_name(database_url, SOURCE_SUFFIX)
    OUT.mkdir(parents=True, exist_ok=True)
    dump = OUT / f"{urlsplit(source).path.lstrip('/')}-{time.strftime('%Y%m%dT%H%M%S')}.dump"
    started = time.monotonic()
    try:
        seeded: dict = {}
        if source_url is None:
            _recreate(source)
            seeded = _step("seed", source)
        before = _step("report", source, seeded)
        _run(["pg_dump", "-Fc", "--no-owner", "--no-acl", "-f", str(dump), _libpq(source)])
        _recreate(restored)
        _run(
            [
                "pg_restore",
                "--exit-on-error",
                "--no-owner",
                "--no-acl",
                "-d",
                _libpq(restored),
                str(dump),
            ]
        )
        after = _step("report", restored, seeded)
    finally:
        if not keep:
            _recreate(restored, drop_only=True)
            if source_url is None:
                _recreate(source, drop_only=True)

    problems: list[str] = []
    if after["migrations_pending"]:
        problems.append("restored database is missing migrations")
    for table, n in sorted(before["counts"].items()):
        if after["counts"].get(table) != n:
            problems.append(
                f"{table}: {n} rows in the source, {after['counts'].get(table)} restored"
            )
    rows = sum(before["counts"].values())
    print(
        f"restore drill: dump {dump.name} ({dump.stat().st_size} bytes), {rows} rows in "
        f"{len(before['counts'])} tables, {time.monotonic() - started:.1f} s"
    )
    lost = list(problems)
    for check in after["checks"]:
        mark = "ok  " if check["violations"] == 0 else "FAIL"
        count = f" ({check['violations']})" if check["violations"] else ""
        print(f"  {mark} {check['name']}{count}")
        if check["violations"]:
            problems.append(f"invariant broken on the restored copy: {check['name']}")
    print(f"  {'FAIL' if lost else 'ok  '} every table restored with all its rows, migrations done")
    for problem in lost:
        print(f"       {problem}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--source-url", help="drill on this existing database (read only)")
    parser.add_argument("--keep", action="store_true", help="keep the drill databases")
    parser.add_argument("--step", choices=["seed", "report"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        import django

        django.setup()
        answer = step_seed() if args.step == "seed" else step_report()
        print(json.dumps(answer))
        return 0
    try:
        return drill(os.environ.get("DATABASE_URL", ""), source_url=args.source_url, keep=args.keep)
    except DrillError as exc:
        print(f"restore drill could not run: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
