"""`make bench` (SPEC §12): start the real stack on loopback, load it with locust, check the
invariants in the database, print one table.

    .venv/bin/python -m bench.run [--users 32] [--paced-rate 64] [--budget 300] ...

Stack: gunicorn (`bench.wsgi` = `buatfilm.wsgi` + a Server-Timing header: server, SQL, Snap),
PostgreSQL when DATABASE_URL is set (its own `*_bench` database, recreated and dropped) or a
fresh SQLite file under var/bench/, the Midtrans simulator (`manage.py midtrans_simulator`),
the fake WhatsApp gateway, `CELERY_BROKER_URL=memory://` (nothing consumes it: the outbox rows
the load creates stay PENDING and are what the outbox scenario sends).

Scenarios run one after the other, each in two load modes: "max" (no think time: capacity, and
latency that is mostly queueing, since with a closed loop p95 ~ clients / throughput) and
"paced" (Poisson arrivals at a fixed total rate: latency at a stated load): healthz (the
floor), checkout, status API, webhook; then the outbox. The orders the checkouts create feed
the status and webhook scenarios. Logs, raw samples and results go to var/bench/; every pass
is cut to fit `--budget` seconds.

Targets (issue 16): throughput as a share of the floor's req/s in the same run (max mode; the
floor is measured again after each max scenario, and each ratio divides by the mean of the two
floor passes around its scenario, so a machine that slows down mid-run moves both sides), the
paced webhook `paid` p95, the outbox rate, and SPEC §12's paced checkout p95s. The profile
(Server-Timing from `bench.wsgi`) says where the time of the pass furthest from its target
goes: waiting (gunicorn backlog, network, client), SQL, Python, Snap.

Exit code: 1 when an invariant breaks, 2 when the stack could not run; 0 otherwise, also
when a performance target is missed (the FAIL rows say so): a slow run on a busy laptop
must not look like a correctness bug, and a correctness bug must never look like a pass.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import FrameType
from typing import Any

from bench import report
from bench.checks import Check
from bench.stack import (
    BIN,
    LOOPBACK,
    ROOT,
    BenchError,
    Database,
    Stack,
    cpu_steal_ticks,
    cpu_ticks,
    cpu_used,
    free_port,
    http_get,
    postgres_drop,
    prepare_database,
)

OUT = ROOT / "var" / "bench"
SERVER_KEY = "SB-Mid-server-BENCH-LOCAL-ONLY"  # the simulator's key; nothing real
LOCUSTFILE = "bench/locustfile.py"
WIB = timezone(timedelta(hours=7))

# Issue 16: max-mode req/s as a percentage of the floor's (healthz) in the same run.
WEBHOOK_FLOOR_PERCENT = 35.0
STATUS_FLOOR_PERCENT = 60.0
CHECKOUT_EXCL_SNAP_FLOOR_PERCENT = 12.0
WEBHOOK_PAID_P95_MS = 25.0  # paced
OUTBOX_MIN_PER_SECOND = 500.0  # one worker, fake gateway over HTTP
# SPEC §12, paced.
CHECKOUT_EXCL_MIDTRANS_P95_MS = 150.0
CHECKOUT_SEED_P95_MS = 500.0


@dataclass(frozen=True)
class Options:
    users: int
    webhook_users: int
    duration: int
    floor_seconds: int
    checkouts: int
    webhook_orders: int
    paced_rate: float
    checkout_rate: float
    outbox_messages: int
    web_workers: int
    web_threads: int
    budget: int
    keep: bool


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    add = parser.add_argument
    add("--users", type=int, default=32, help="clients for healthz/checkout/status (32)")
    add("--webhook-users", type=int, default=32, help="webhook senders (32, SPEC)")
    add("--duration", type=int, default=15, help="seconds per time-boxed pass (15)")
    add("--floor-seconds", type=int, default=5, help="healthz pass after each max scenario (5)")
    add("--checkouts", type=int, default=600, help="checkouts in the max pass (600)")
    add("--webhook-orders", type=int, default=400, help="orders notified, max pass (400)")
    add("--paced-rate", type=float, default=64, help="paced req/s: healthz/status/webhook (64)")
    add("--checkout-rate", type=float, default=16, help="paced checkouts/s (16)")
    add("--outbox-messages", type=int, default=2000, help="outbox messages sent (2000)")
    add("--web-workers", type=int, default=4, help="gunicorn workers (4)")
    add("--web-threads", type=int, default=1, help="threads per worker; >1 = gthread (1)")
    add("--budget", type=int, default=300, help="seconds for the whole run, at most (300)")
    add("--keep", action="store_true", help="keep the PostgreSQL bench database")
    return Options(**vars(parser.parse_args(argv)))


# --- Environment ---------------------------------------------------------------------------


def site_env(db: Database, *, web_port: int, sim_port: int, gateway_port: int) -> dict[str, str]:
    """The environment of every process of the stack: local settings, production-like
    switches (DEBUG off), everything pointed at loopback, rate limits off (see the header)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    site = f"http://{LOOPBACK}:{web_port}"
    simulator = f"http://{LOOPBACK}:{sim_port}"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "buatfilm.settings.local",
            "DEBUG": "false",
            "SECRET_KEY": f"bench-{uuid.uuid4().hex}",
            "ALLOWED_HOSTS": f"{LOOPBACK},localhost",
            "SITE_URL": site,
            "DATABASE_URL": db.url,
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "memory://",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "RATELIMIT_ENABLE": "false",
            "SECURE_SSL": "false",
            "STAFF_OTP_REQUIRED": "false",
            "MIDTRANS_SERVER_KEY": SERVER_KEY,
            "MIDTRANS_CLIENT_KEY": "SB-Mid-client-BENCH-LOCAL-ONLY",
            "MIDTRANS_IS_PRODUCTION": "false",
            "MIDTRANS_SNAP_BASE_URL": f"{simulator}/snap/v1",
            "MIDTRANS_API_BASE_URL": simulator,
            "MIDTRANS_NOTIFICATION_URL": f"{site}/payments/midtrans/notification/",
            "MIDTRANS_SIMULATOR_ENABLED": "true",
            "MIDTRANS_ALLOWED_NETWORKS": "",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "EMAIL_FILE_PATH": str(OUT / "mail"),
            "WHATSAPP_BACKEND": "http",
            "WHATSAPP_GATEWAY_URL": f"http://{LOOPBACK}:{gateway_port}",
            "WHATSAPP_GATEWAY_TOKEN": "bench-gateway-token",
            "WHATSAPP_FILE_PATH": str(OUT / "whatsapp"),
            "LOG_LEVEL": "INFO",
            "NO_PROXY": f"{LOOPBACK},localhost",
            "no_proxy": f"{LOOPBACK},localhost",
        }
    )
    return env


def start_stack(
    stack: Stack, env: dict[str, str], opts: Options, *, web_port: int, sim_port: int, gw: int
) -> None:
    """migrate + seed_catalog (the release steps), then simulator, gateway and gunicorn."""
    python = str(BIN / "python")
    for command in (["migrate", "--noinput"], ["seed_catalog"]):
        done = subprocess.run(  # noqa: S603 - our own manage.py
            [python, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=180,
            check=False,
        )
        with (OUT / "setup.log").open("ab") as log:
            log.write(done.stdout + done.stderr)
        if done.returncode:
            raise BenchError(f"manage.py {command[0]} failed; see {OUT}/setup.log")
    stack.start(
        "simulator",
        [python, "manage.py", "midtrans_simulator", "--host", LOOPBACK, "--port", str(sim_port)],
        env,
    )
    stack.start(
        "whatsapp-gateway",
        [
            python,
            "-m",
            "devtools.fake_gateway",
            "--port",
            str(gw),
            "--token",
            env["WHATSAPP_GATEWAY_TOKEN"],
        ],
        env,
    )
    workers = ["--workers", str(opts.web_workers)]
    if opts.web_threads > 1:
        workers += ["--worker-class", "gthread", "--threads", str(opts.web_threads)]
    stack.start(
        "web",
        [
            str(BIN / "gunicorn"),
            "bench.wsgi:application",
            "--bind",
            f"{LOOPBACK}:{web_port}",
            *workers,
            "--timeout",
            "30",
            "--access-logfile",
            "-",
            "--no-control-socket",  # gunicorn 27 would take ~/.gunicorn/gunicorn.ctl
        ],
        env,
    )
    stack.wait_port(sim_port)
    stack.wait_port(gw)
    stack.wait_http(f"http://{LOOPBACK}:{web_port}/healthz/")


# --- Load ----------------------------------------------------------------------------------


@dataclass
class Pass:
    """One locust run: every request it made and where the CPUs went meanwhile."""

    samples: list[report.Sample]
    cpu_share: dict[str, float]  # fraction of all CPUs of the machine, per process kind
    cpu_warning: bool


def run_locust(
    stack: Stack,
    name: str,
    user_class: str,
    *,
    host: str,
    users: int,
    total_rate: float,
    run_time: int,
    requests: int = 0,
    data: Any = None,
) -> Pass:
    """One headless locust process for one scenario. `total_rate` req/s is spread over the
    users (0 = no think time); `requests` > 0 = stop after that many (else `run_time`)."""
    samples_path = OUT / f"{name}.samples.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {
        "BENCH_SAMPLES_OUT": str(samples_path),
        "BENCH_REQUESTS": str(requests),
        "BENCH_RATE": str(total_rate / users if total_rate > 0 else 0),
        "BENCH_ORDERS_OUT": str(OUT / f"{name}.orders.json"),
        "BENCH_DATA_IN": "",
    }
    if data is not None:
        data_path = OUT / f"{name}.data.json"
        data_path.write_text(json.dumps(data), encoding="utf-8")
        env["BENCH_DATA_IN"] = str(data_path)
    log_path = OUT / f"locust-{name}.log"
    argv = [
        str(BIN / "locust"),
        "-f",
        LOCUSTFILE,
        "--headless",
        "--only-summary",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{run_time}s",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
        "--host",
        host,
        user_class,
    ]
    cpu_before, steal_before = cpu_ticks(), cpu_steal_ticks()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with log_path.open("wb") as log:
        subprocess.run(  # noqa: S603 - our own venv's locust
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=run_time + 30,  # startup + --stop-timeout
            check=False,
        )
    capacity = (time.monotonic() - started) * (os.cpu_count() or 1)
    used = cpu_used(cpu_before, cpu_ticks(), stack.groups())
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    share = {name: seconds / capacity for name, seconds in used.items()}
    steal_after = cpu_steal_ticks()
    if steal_after[1] > steal_before[1]:
        share["steal"] = (steal_after[0] - steal_before[0]) / (steal_after[1] - steal_before[1])
    share["locust"] = (
        children_after.ru_utime
        + children_after.ru_stime
        - children_before.ru_utime
        - children_before.ru_stime
    ) / capacity
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return Pass(report.read_samples(samples_path), share, "CPU usage" in text)


def _read_orders(name: str) -> list[dict[str, Any]]:
    path = OUT / f"{name}.orders.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _wib(moment: datetime) -> str:
    return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")


def notification_plan(
    orders: Sequence[dict[str, Any]], *, group: int = 8
) -> tuple[list[str], list[str], list[str]]:
    """Signed notification bodies in send order; the order ids that get a settlement; those
    that get only `pending`.

    Per group of 8 orders: every `pending`, then `settlement` for 3 of 4 orders, then the same
    settlements again, then the same pendings again (now stale). With 32 clients a group is in
    flight at once, so duplicates of one payment arrive in parallel and out of order, as
    Midtrans retries do. A `pending`-only order must stay PENDING_PAYMENT."""
    from devtools.midtrans_simulator import PAYMENT_METHODS, sign_notification
    from devtools.midtrans_simulator.app import NOTIFICATION_MESSAGE, STATUS_CODES

    now = datetime.now(UTC)
    bodies: list[str] = []
    settled: list[str] = []
    pending_only: list[str] = []
    for start in range(0, len(orders), group):
        chunk = orders[start : start + group]
        pendings, settlements = [], []
        for index, order in enumerate(chunk, start=start):
            method = PAYMENT_METHODS.get(order["payment_method"]) or PAYMENT_METHODS["bca_va"]
            common = {
                "order_id": order["midtrans_order_id"],
                "transaction_id": str(uuid.uuid4()),
                "merchant_id": "G000000001",
                "gross_amount": f"{order['amount']}.00",
                "currency": "IDR",
                "payment_type": method.payment_type,
                "transaction_time": _wib(now),
                "expiry_time": _wib(now + timedelta(hours=24)),
                "fraud_status": "accept",
                "status_message": NOTIFICATION_MESSAGE,
                **method.details(),
            }
            for status in ("pending", "settlement"):
                if status == "settlement" and index % 4 == 3:
                    pending_only.append(order["order_id"])
                    continue
                code = STATUS_CODES[status]
                body = common | {
                    "transaction_status": status,
                    "status_code": code,
                    "signature_key": sign_notification(
                        common["order_id"], code, common["gross_amount"], SERVER_KEY
                    ),
                }
                if status == "settlement":
                    body["settlement_time"] = _wib(now)
                    settlements.append(json.dumps(body))
                    settled.append(order["order_id"])
                else:
                    pendings.append(json.dumps(body))
        bodies += pendings + settlements + settlements + pendings
    return bodies, settled, pending_only


def warm_up(host: str) -> None:
    """Every gunicorn worker imports the views and opens its database connection before the
    clock starts; 64 health checks over 8 connections reach all of them."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: http_get(f"{host}/healthz/"), range(64)))


# --- Report ------------------------------------------------------------------------------


def header(db: Database, opts: Options) -> list[str]:
    from importlib.metadata import version

    import django

    worker_kind = (
        f"{opts.web_workers} gthread workers x {opts.web_threads} threads"
        if opts.web_threads > 1
        else f"{opts.web_workers} sync workers"
    )
    lines = [
        f"BuatFilm benchmark (SPEC §12)  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
        f"{os.cpu_count()} CPUs  Python {platform.python_version()}  "
        f"Django {django.get_version()}  locust {version('locust')}",
        f"database: {db.label}",
        f"web: gunicorn bench.wsgi, {worker_kind} (bench.wsgi = buatfilm.wsgi + a Server-Timing "
        "header: server time, SQL time and count, Snap time); DEBUG=false; broker memory://; "
        "Midtrans = local simulator",
        "load: one headless locust process on the same machine (it shares the CPUs, see below);"
        " 'max' = no think time (closed loop: p95 is mostly queueing, clients / throughput), "
        "'@ N/s' = clients paced to N req/s in total. Throughput targets are judged on the max "
        "rows (as a share of the floor's req/s), latency targets on the paced rows.",
        "rate limits: RATELIMIT_ENABLE=false, the site's per-IP limits would answer 429 to a "
        "single-IP load generator",
        "exit code: 1 if an invariant breaks, 2 if the stack fails; 0 otherwise (a missed target "
        "is a FAIL row, not an exit code)",
    ]
    if not db.is_postgres:
        lines.insert(
            2,
            "WARNING: SQLite (DATABASE_URL unset). The targets are for PostgreSQL; SQLite "
            "serialises every write, so write-heavy rows are pessimistic here.",
        )
    return lines


def outbox_row(result: dict[str, Any]) -> report.Row:
    """Delivered messages per second; a row CANCELLED at the claim (its order moved on, e.g.
    payment instructions of a paid order) is a correct outcome, not an error, but not a
    delivery either."""
    sent = int(result["counts"].get("sent", 0))
    rate = sent / result["seconds"] if result["seconds"] else 0.0
    failed = int(result["messages"]) - sent - int(result["counts"].get("cancelled", 0))
    return report.Row(
        scenario="outbox dispatch",
        load="1 worker",
        requests=sent,
        rate=rate,
        p50=None,
        p95=None,
        errors=failed,
    )


def _excl_snap(samples: Sequence[report.Sample]) -> list[float]:
    return [s.ms - s.snap_ms for s in samples if s.status == 201 and s.snap_ms is not None]


def _paid(samples: Sequence[report.Sample]) -> list[report.Sample]:
    return [s for s in samples if s.outcome == "paid"]


def _errors(samples: Sequence[report.Sample], ok: range | set[int]) -> int:
    return sum(1 for s in samples if s.status not in ok)


def targets(
    max_passes: dict[str, Pass],
    paced_passes: dict[str, Pass],
    outbox: report.Row,
    *,
    slots: int,
    floors: dict[str, float],
) -> list[report.Target]:
    """Issue 16's targets, then SPEC §12's checkout latencies. `slots` = web workers x threads
    (for checkout excl. Snap, see `report.throughput_excluding_snap`); `floors` = the floor's
    req/s around each max scenario (`report.floors_around`)."""
    rate = {kind: report.throughput(run.samples) for kind, run in max_passes.items()}
    checkout, status, webhook = (max_passes[k].samples for k in ("checkout", "status", "webhook"))
    paced_checkout = paced_passes["checkout"].samples
    paid = sorted(s.ms for s in _paid(paced_passes["webhook"].samples))
    ok_2xx = range(200, 300)
    return [
        report.ratio_target(
            "webhook req/s / floor (max)", rate["webhook"], floors["webhook"],
            WEBHOOK_FLOOR_PERCENT, scenario="webhook max", errors=_errors(webhook, ok_2xx),
        ),
        report.ratio_target(
            "status API req/s / floor (max)", rate["status"], floors["status"],
            STATUS_FLOOR_PERCENT, scenario="status max", errors=_errors(status, {200}),
        ),
        report.ratio_target(
            "checkout excl. Snap req/s / floor (max)",
            report.throughput_excluding_snap(checkout, slots=slots), floors["checkout"],
            CHECKOUT_EXCL_SNAP_FLOOR_PERCENT, scenario="checkout max",
            errors=_errors(checkout, {201}),
        ),
        report.Target(
            "webhook paid p95 (paced)", report.percentile(paid, 95), WEBHOOK_PAID_P95_MS, "ms",
            at_least=False, scenario="webhook paced, paid",
            errors=_errors(paced_passes["webhook"].samples, ok_2xx),
        ),
        report.Target(
            "outbox, one worker", outbox.rate, OUTBOX_MIN_PER_SECOND, "msg/s",
            errors=outbox.errors,
        ),
        report.Target(
            "checkout with Snap p95 (paced, SPEC §12)",
            report.percentile(sorted(s.ms for s in paced_checkout), 95), CHECKOUT_SEED_P95_MS,
            "ms", at_least=False, scenario="checkout paced",
            errors=_errors(paced_checkout, {201}),
        ),
        report.Target(
            "checkout excl. Snap p95 (paced, SPEC §12)",
            report.percentile(sorted(_excl_snap(paced_checkout)), 95),
            CHECKOUT_EXCL_MIDTRANS_P95_MS, "ms", at_least=False, scenario="checkout paced",
            errors=_errors(paced_checkout, {201}),
        ),
    ]  # fmt: skip


def profiles(
    max_passes: dict[str, Pass], paced_passes: dict[str, Pass]
) -> dict[str, report.Profile | None]:
    """The passes the targets are judged on, named as `Target.scenario`."""
    return {
        **{f"{kind} max": report.profile(run.samples) for kind, run in max_passes.items()},
        "checkout paced": report.profile(paced_passes["checkout"].samples),
        "webhook paced, paid": report.profile(_paid(paced_passes["webhook"].samples)),
    }


def http_rows(passes: dict[str, Pass], *, load: dict[str, str]) -> list[report.Row]:
    """healthz, checkout (with and without Snap), status, webhook rows of one load mode; the
    ratio column is relative to this mode's healthz p95."""
    checkout = passes["checkout"].samples
    rows = [
        report.latency_row("healthz (floor)", passes["healthz"].samples, ok={200}),
        report.latency_row("checkout (with Snap)", checkout, ok={201}),
        report.latency_row(
            "checkout (excl. Snap)", checkout, ok={201}, latencies=_excl_snap(checkout)
        ),
        report.latency_row("status API", passes["status"].samples, ok={200}),
        report.latency_row("webhook", passes["webhook"].samples, ok=range(200, 300)),
    ]
    kinds = ["healthz", "checkout", "checkout", "status", "webhook"]
    floor = rows[0].p95
    for row, kind in zip(rows, kinds, strict=True):
        row.load = load[kind]
        if row.p95 is not None and floor:
            row.ratio = row.p95 / floor
    return rows


def cpu_table(passes: dict[str, Pass]) -> str:
    """Where the CPUs went in each pass, as a share of all of them (SQLite: inside web)."""
    kinds = ["web", "postgres", "simulator", "locust", "steal"]
    lines = ["cpu share of all cores: " + "  ".join(f"{k:>9}" for k in [*kinds, "rest"])]
    for name, run in passes.items():
        used = [run.cpu_share.get(kind, 0.0) for kind in kinds]
        rest = max(0.0, 1 - sum(used))
        cells = "  ".join(f"{value:>9.0%}" for value in [*used, rest])
        lines.append(f"  {name:<21}" + cells)
    return "\n".join(lines)


# --- Main ----------------------------------------------------------------------------------


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_options(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in (*OUT.glob("*.log"), *OUT.glob("*.json"), *OUT.glob("*.jsonl")):
        old.unlink()
    started = time.monotonic()
    stack = Stack(OUT)
    db: Database | None = None
    try:
        db = prepare_database(os.environ.get("DATABASE_URL", ""), OUT)
        web_port, sim_port, gw_port = free_port(), free_port(), free_port()
        env = site_env(db, web_port=web_port, sim_port=sim_port, gateway_port=gw_port)
        print(f"bench: {db.label}; starting gunicorn, simulator, gateway (logs in {OUT})")
        start_stack(stack, env, opts, web_port=web_port, sim_port=sim_port, gw=gw_port)
        os.environ.update(env | {"LOG_LEVEL": "WARNING"})
        import django

        django.setup()
        code = run_scenarios(
            stack,
            env,
            opts,
            db,
            host=f"http://{LOOPBACK}:{web_port}",
            deadline=started + opts.budget,
        )
    except KeyboardInterrupt:
        print("bench: interrupted; stopping everything", file=sys.stderr)
        code = 130
    except BenchError as exc:
        print(f"bench: could not run: {exc}", file=sys.stderr)
        code = 2
    except Exception as exc:
        traceback.print_exc()
        print(f"bench: could not run: {exc}", file=sys.stderr)
        code = 2
    finally:
        stack.stop()
        if db is not None and db.is_postgres and not opts.keep:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            try:
                postgres_drop(db.url)
            except Exception as exc:
                print(f"bench: could not drop {db.label}: {exc}", file=sys.stderr)
    print(f"bench: done in {time.monotonic() - started:.0f} s, exit code {code}")
    return code


def run_scenarios(
    stack: Stack, env: dict[str, str], opts: Options, db: Database, *, host: str, deadline: float
) -> int:
    """Each scenario twice (max, then paced), then the outbox, the invariants, the table.
    Every pass is cut to fit `deadline` (monotonic), keeping time for the outbox, the checks
    and the teardown."""
    from bench.checks import database_checks, order_status_counts

    def seconds_left(reserve: float) -> int:
        left = int(deadline - time.monotonic() - reserve)
        if left < 3:
            raise BenchError(f"the time budget (--budget {opts.budget}) ran out")
        return left

    warm_up(host)
    users, duration = opts.users, opts.duration
    rates = {
        "healthz": opts.paced_rate,
        "checkout": opts.checkout_rate,
        "status": opts.paced_rate,
        "webhook": opts.paced_rate,
    }
    clients = {"healthz": users, "checkout": users, "status": users, "webhook": opts.webhook_users}
    max_load = {kind: f"{n} max" for kind, n in clients.items()}
    paced_load = {kind: f"{clients[kind]} @ {rates[kind]:g}/s" for kind in clients}
    max_passes: dict[str, Pass] = {}
    paced_passes: dict[str, Pass] = {}
    floors: dict[str, float] = {}  # healthz max req/s: at the start, then after each max pass

    def floor_pass(after: str) -> float:
        print(f"bench: floor after {after} ...", flush=True)
        floor = run_locust(
            stack,
            f"floor-after-{after}",
            "HealthzUser",
            host=host,
            users=users,
            total_rate=0,
            run_time=min(opts.floor_seconds, seconds_left(reserve=90)),
        )
        stack.check_alive()
        return report.throughput(floor.samples)

    def run(kind: str, user_class: str, paced: bool, run_time: int, **kwargs: Any) -> None:
        label = f"{kind} {'paced' if paced else 'max'}"
        print(f"bench: {label} ...", flush=True)
        target = paced_passes if paced else max_passes
        target[kind] = run_locust(
            stack,
            label.replace(" ", "-"),
            user_class,
            host=host,
            users=clients[kind],
            total_rate=rates[kind] if paced else 0,
            run_time=min(run_time, seconds_left(reserve=90)),
            **kwargs,
        )
        stack.check_alive()
        if kind == "healthz" and not paced:
            floors["start"] = report.throughput(target[kind].samples)
        elif not paced:
            floors[f"after {kind}"] = floor_pass(kind)

    for paced in (False, True):
        run("healthz", "HealthzUser", paced, run_time=duration)
    run("checkout", "CheckoutUser", False, run_time=60, requests=opts.checkouts)
    run("checkout", "CheckoutUser", True, run_time=duration)
    orders = _read_orders("checkout-max") + _read_orders("checkout-paced")
    if not orders:
        raise BenchError(f"checkout created no order; see {OUT}/web.log")
    for paced in (False, True):
        run("status", "StatusUser", paced, run_time=duration, data=orders)
    max_bodies, max_settled, max_pending = notification_plan(orders[: opts.webhook_orders])
    run("webhook", "WebhookUser", False, run_time=60, data=max_bodies)
    paced_orders = orders[opts.webhook_orders : opts.webhook_orders + opts.webhook_orders // 2]
    paced_bodies, paced_settled, paced_pending = notification_plan(paced_orders)
    run("webhook", "WebhookUser", True, run_time=60, data=paced_bodies)
    sent = max_passes["webhook"].samples + paced_passes["webhook"].samples
    expected = len(max_bodies) + len(paced_bodies)
    if len(sent) < expected:  # the settlement checks below would be meaningless
        raise BenchError(f"only {len(sent)} of {expected} notifications were sent in time")

    print(f"bench: outbox x {opts.outbox_messages} ...", flush=True)
    outbox_out = OUT / "outbox.json"
    with (OUT / "outbox.log").open("wb") as log:
        subprocess.run(  # noqa: S603 - our own module
            [str(BIN / "python"), "-m", "bench.outbox", "--messages", str(opts.outbox_messages),
             "--out", str(outbox_out)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
            timeout=seconds_left(reserve=20),
        )  # fmt: skip
    if not outbox_out.exists():
        raise BenchError(f"outbox scenario failed; see {OUT}/outbox.log")
    outbox = json.loads(outbox_out.read_text(encoding="utf-8"))

    rows = [
        *http_rows(max_passes, load=max_load),
        *http_rows(paced_passes, load=paced_load),
        outbox_row(outbox),
    ]
    goals = targets(
        max_passes,
        paced_passes,
        rows[-1],
        slots=opts.web_workers * opts.web_threads,
        floors=report.floors_around(floors, ["checkout", "status", "webhook"]),
    )
    where = profiles(max_passes, paced_passes)
    furthest = report.slowest(goals, (name for name, p in where.items() if p is not None))

    checks = [
        Check(
            "every webhook answered 2xx (429 = failure)",
            sum(1 for s in sent if not 200 <= s.status < 300),
            f"{len(sent)}/{expected} sent",
        ),
        *database_checks(
            settled_order_ids=max_settled + paced_settled,
            pending_only_order_ids=max_pending + paced_pending,
        ),
    ]

    snap = sorted(
        s.snap_ms
        for run_ in (max_passes["checkout"], paced_passes["checkout"])
        for s in run_.samples
        if s.snap_ms is not None
    )
    print()
    print("\n".join(header(db, opts)))
    print()
    print(report.table(rows))
    print()
    print(
        f"Snap round-trip (to the simulator, timed in the web worker): p50 "
        f"{report.percentile(snap, 50) or 0:.1f} ms, p95 {report.percentile(snap, 95) or 0:.1f} ms"
        f" over {len(snap)} checkouts. 'excl. Snap' = each checkout's latency minus its own Snap"
        " time (queueing and the client's connection included)."
    )
    for mode, passes in (("max", max_passes), ("paced", paced_passes)):
        print(f"webhook by outcome, {mode}: {report.by_outcome(passes['webhook'].samples)}")
    print(
        f"outbox: {outbox['messages']} messages ({outbox['due_before']} left PENDING by the load"
        f", {outbox['topped_up']} resends added) in {outbox['seconds']:.2f} s by one process: "
        f"{outbox['counts']}; email = locmem backend, WhatsApp = fake gateway over HTTP."
    )
    print(
        f"orders: {order_status_counts()}; webhook: {expected} notifications for "
        f"{opts.webhook_orders + len(paced_orders)} orders, {len(max_settled) + len(paced_settled)}"
        " settled; every body sent twice (in the max pass duplicates of one payment are in flight"
        " together), stale pendings last."
    )
    print()
    print(
        "floor (healthz max req/s): "
        + ", ".join(f"{when} {rate:.0f}" for when, rate in floors.items())
        + "; each ratio divides by the mean of the floor before and after its scenario"
    )
    print("targets (issue 16; ratios = max-mode req/s / the floor's max-mode req/s, this run):")
    print(report.targets_table(goals))
    print()
    print(
        "profile: mean ms per request (share of the client's latency); waiting = client latency -"
        " server time (gunicorn backlog, network, the client); SQL = inside cursor.execute;"
        " Python = server time - SQL - Snap"
    )
    print(report.profile_table(where, mark=furthest.scenario if furthest else ""))
    if furthest is not None and (slowest_profile := where[furthest.scenario]) is not None:
        print(
            f"slowest vs its target: {furthest.name} at {furthest.score:.0%} of its goal; "
            f"{report.where_time_goes(slowest_profile)}"
        )
    print()
    print(cpu_table({f"{k} max": v for k, v in max_passes.items()}
                    | {f"{k} paced": v for k, v in paced_passes.items()}))  # fmt: skip
    if any(p.cpu_warning for p in [*max_passes.values(), *paced_passes.values()]):
        print("note: locust warned that its own CPU was saturated in some pass.")
    print()
    print("invariants:")
    for check in checks:
        detail = f" ({check.detail})" if check.detail else ""
        verdict = "ok" if check.ok else f"VIOLATED x{check.violations}"
        print(f"  {verdict:<14} {check.name}{detail}")
    return 0 if all(check.ok for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
