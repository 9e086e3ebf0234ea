"""`make chaos`: a bounded crash test of the real stack on PostgreSQL + Redis (issue 10).

gunicorn (the Procfile's gthread layout), a Celery worker, the Midtrans simulator and the fake
WhatsApp gateway run as child processes against a dedicated `*_chaos_bench` database and a
redis-server of their own on a free port. Client threads create orders (`POST /api/orders/`),
pay most of them through the simulator (signed notifications to the webhook) and send every
notification again in parallel (duplicates). Meanwhile a chaos thread `kill -9`s a random web
worker (gunicorn starts a new one), `kill -9`s the Celery worker and starts it again, and stops
redis-server once and starts it again. Afterwards the sweeps run (`reconcile_payments`,
`resolve_stuck_attempts`, `dispatch_outbox`) and `bench.checks.crash_invariants` checks the
database with SQL. A table is printed; the exit code is 1 when an invariant is broken, 2 when
the stack could not run.

    python -m bench.chaos [--duration 60] [--short]    (make chaos / make chaos CHAOS_ARGS=--short)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.stack import (
    BIN,
    LOOPBACK,
    ROOT,
    BenchError,
    Database,
    Stack,
    free_port,
    http_get,
    postgres_drop,
    postgres_recreate,
)

OUT = ROOT / "var" / "chaos"
SERVER_KEY = "SB-Mid-server-CHAOS-LOCAL-ONLY"
PACKAGE = "pro"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Tally:
    """What the load and the chaos did (thread-safe counters)."""

    counts: Counter[str] = field(default_factory=Counter)
    paid_orders: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


def http_post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with _DIRECT.open(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)
    except OSError:
        return 0


def http_post_json(
    url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with _DIRECT.open(request, timeout=30) as response:
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            try:
                return int(exc.code), json.loads(exc.read() or b"{}")
            except ValueError:
                return int(exc.code), {}
    except (OSError, ValueError):
        return 0, {}


def chaos_database_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/") or "buatfilm"
    return urlunsplit(parts._replace(path=f"/{name}_chaos_bench"))


def site_env(
    db: Database, *, web_port: int, sim_port: int, gateway_port: int, redis_port: int
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    site = f"http://{LOOPBACK}:{web_port}"
    simulator = f"http://{LOOPBACK}:{sim_port}"
    redis_url = f"redis://{LOOPBACK}:{redis_port}/0"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "buatfilm.settings.local",
            "DEBUG": "false",
            "SECRET_KEY": f"chaos-{uuid.uuid4().hex}",
            "ALLOWED_HOSTS": f"{LOOPBACK},localhost",
            "SITE_URL": site,
            "DATABASE_URL": db.url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "RATELIMIT_ENABLE": "false",
            "SECURE_SSL": "false",
            "STAFF_OTP_REQUIRED": "false",
            "MIDTRANS_SERVER_KEY": SERVER_KEY,
            "MIDTRANS_CLIENT_KEY": "SB-Mid-client-CHAOS-LOCAL-ONLY",
            "MIDTRANS_IS_PRODUCTION": "false",
            "MIDTRANS_SNAP_BASE_URL": f"{simulator}/snap/v1",
            "MIDTRANS_API_BASE_URL": simulator,
            "MIDTRANS_NOTIFICATION_URL": f"{site}/payments/midtrans/notification/",
            "MIDTRANS_SIMULATOR_ENABLED": "true",
            "MIDTRANS_ALLOWED_NETWORKS": "",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "WHATSAPP_BACKEND": "http",
            "WHATSAPP_GATEWAY_URL": f"http://{LOOPBACK}:{gateway_port}",
            "WHATSAPP_GATEWAY_TOKEN": "chaos-gateway-token",
            "OUTBOX_LEASE_SECONDS": "5",  # a killed worker's lease expires within the run
            "RECONCILE_AFTER_MINUTES": "0",  # the final sweep asks about every pending order
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
            "WEB_CONCURRENCY": "3",
            "WEB_THREADS": "4",
            "PORT": str(web_port),
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "NO_PROXY": f"{LOOPBACK},localhost",
            "no_proxy": f"{LOOPBACK},localhost",
        }
    )
    return env


def procfile(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise BenchError(f"no {process} process in the Procfile")


class Redis:
    """Our own redis-server on a free port: stopped and started again mid-run."""

    def __init__(self, stack: Stack, port: int) -> None:
        self.stack = stack
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise BenchError("redis-server is not installed (apt-get install redis-server)")

    def start(self) -> None:
        self.process = self.stack.start(
            f"redis-{len(self.stack.children)}",
            [
                str(self.binary),
                "--port",
                str(self.port),
                "--bind",
                LOOPBACK,
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
            ],
            os.environ.copy(),
        )
        self.stack.wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def gunicorn_workers(master_pid: int) -> list[int]:
    try:
        path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
        return [int(pid) for pid in path.read_text().split()]
    except OSError:
        return []


class Chaos:
    """The stack and what the chaos thread does to it."""

    def __init__(self, stack: Stack, env: dict[str, str], redis: Redis, tally: Tally) -> None:
        self.stack = stack
        self.env = env
        self.redis = redis
        self.tally = tally
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_runs = 0

    def start_web(self) -> None:
        self.web = self.stack.start("web", ["bash", "-c", f"exec {procfile('web')}"], self.env)

    def start_worker(self) -> None:
        self.worker_runs += 1
        self.worker = self.stack.start(
            f"worker-{self.worker_runs}",
            [
                str(BIN / "celery"),
                "-A",
                "buatfilm",
                "worker",
                "-Q",
                "default,notifications",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            self.env,
        )

    def kill_web_worker(self) -> None:
        assert self.web is not None
        workers = gunicorn_workers(self.web.pid)
        if workers:
            os.kill(random.choice(workers), signal.SIGKILL)  # noqa: S311
            self.tally.add("web workers killed (kill -9)")

    def kill_and_restart_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=10)
            self.stack.children = [(n, c) for n, c in self.stack.children if c is not self.worker]
            self.tally.add("Celery worker killed (kill -9) and restarted")
        self.start_worker()

    def redis_outage(self, seconds: float) -> None:
        self.redis.stop()
        self.stack.children = [
            (n, c) for n, c in self.stack.children if c is not self.redis.process
        ]
        self.tally.add("redis-server stopped and restarted")
        time.sleep(seconds)
        self.redis.start()

    def run(self, stop: threading.Event, *, duration: float) -> None:
        """Spread over the run: web worker kills every few seconds, the Celery worker killed
        twice, Redis down once for 3 s in the middle."""
        started = time.monotonic()
        plan = sorted(
            [(duration * f, "web") for f in (0.15, 0.3, 0.45, 0.6, 0.75)]
            + [(duration * f, "worker") for f in (0.25, 0.7)]
            + [(duration * 0.5, "redis")]
        )
        for at, action in plan:
            while time.monotonic() - started < at:
                if stop.wait(0.2):
                    return
            try:
                if action == "web":
                    self.kill_web_worker()
                elif action == "worker":
                    self.kill_and_restart_worker()
                else:
                    self.redis_outage(3.0)
            except Exception as exc:  # report, keep the load going
                self.tally.add(f"chaos action failed: {action}: {type(exc).__name__}")


def _notify_again(tally: Tally, url: str, outcome: str) -> None:
    tally.add(f"duplicate notify HTTP {http_post(url, {'transaction_status': outcome})}")


def customer(*, host: str, sim: str, tally: Tally, stop: threading.Event, number: int) -> None:
    """One client: checkout, then (3 of 4 orders) pay via the simulator and send the same
    notification twice more in parallel; the others get `pending` twice."""
    n = 0
    while not stop.is_set():
        n += 1
        key = uuid.uuid4().hex
        body = {
            "package": PACKAGE,
            "name": "Pelanggan Chaos",
            "email": f"chaos-{key[:16]}@example.com",
            "phone": "0812" + "".join(random.choices("0123456789", k=8)),  # noqa: S311
            "payment_method": "bca_va",
        }
        status, answer = http_post_json(
            f"{host}/api/orders/", body, {"Idempotency-Key": f"chaos-{key}"}
        )
        tally.add(f"checkout HTTP {status}")
        if status == 0 or status >= 500:
            # The same request again, as a customer or client library would (idempotent).
            status, answer = http_post_json(
                f"{host}/api/orders/", body, {"Idempotency-Key": f"chaos-{key}"}
            )
            tally.add(f"checkout retry HTTP {status}")
        midtrans_order_id = (answer.get("payment") or {}).get("midtrans_order_id")
        if status not in (200, 201) or not midtrans_order_id:
            continue
        outcome = "settlement" if (number + n) % 4 else "pending"
        url = f"{sim}/_sim/transactions/{midtrans_order_id}/notify"
        first = http_post(url, {"transaction_status": outcome})
        tally.add(f"simulator notify {outcome} HTTP {first}")
        duplicates = [
            threading.Thread(target=_notify_again, args=(tally, url, outcome)) for _ in range(2)
        ]
        for thread in duplicates:
            thread.start()
        for thread in duplicates:
            thread.join()
        if outcome == "settlement":
            with tally.lock:
                tally.paid_orders.add(answer["order_id"])


def manage(env: dict[str, str], *command: str, timeout: float = 300) -> tuple[int, str]:
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [str(BIN / "python"), "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = (done.stdout + done.stderr).strip()
    with (OUT / "setup.log").open("a") as log:
        log.write(f"$ manage.py {' '.join(command)}\n{output}\n")
    summary = (done.stdout.strip() or output).splitlines()  # the command's summary line
    return done.returncode, summary[-1] if summary else ""


def whatsapp_duplicates(gateway_port: int) -> tuple[int, int]:
    """(messages the gateway received, messages it received more than once)."""
    status, raw = http_get(f"http://{LOOPBACK}:{gateway_port}/api/messages", timeout=10)
    if status != 200:
        return 0, 0
    messages = json.loads(raw)
    counts = Counter((m["chat_id"], m["text"]) for m in messages)
    return len(messages), sum(n - 1 for n in counts.values() if n > 1)


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=6, help="parallel customers (6)")
    parser.add_argument("--short", action="store_true", help="CI: 20 s of load, 4 clients")
    parser.add_argument("--keep", action="store_true", help="keep the chaos database")
    opts = parser.parse_args(argv)
    if opts.short:
        opts.duration, opts.clients = 20.0, 4
    return opts


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_options(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    database_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(database_url).scheme not in ("postgres", "postgresql", "pgsql"):
        print("chaos: DATABASE_URL must point at PostgreSQL", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.log"):
        old.unlink()
    started = time.monotonic()
    stack = Stack(OUT)
    db = Database(
        url=chaos_database_url(database_url), label="PostgreSQL (chaos)", is_postgres=True
    )
    tally = Tally()
    code = 2
    try:
        postgres_recreate(db.url)
        web_port, sim_port, gw_port, redis_port = (free_port() for _ in range(4))
        env = site_env(
            db, web_port=web_port, sim_port=sim_port, gateway_port=gw_port, redis_port=redis_port
        )
        for command in (["migrate", "--noinput"], ["seed_catalog"]):
            status, last = manage(env, *command)
            if status:
                raise BenchError(f"manage.py {command[0]} failed: {last} (see {OUT}/setup.log)")
        redis = Redis(stack, redis_port)
        redis.start()
        stack.start(
            "simulator",
            [
                str(BIN / "python"),
                "manage.py",
                "midtrans_simulator",
                "--host",
                LOOPBACK,
                "--port",
                str(sim_port),
            ],
            env,
        )
        stack.start(
            "whatsapp-gateway",
            [
                str(BIN / "python"),
                "-m",
                "devtools.fake_gateway",
                "--port",
                str(gw_port),
                "--token",
                env["WHATSAPP_GATEWAY_TOKEN"],
            ],
            env,
        )
        chaos = Chaos(stack, env, redis, tally)
        chaos.start_web()
        chaos.start_worker()
        stack.wait_port(sim_port)
        stack.wait_port(gw_port)
        host = f"http://{LOOPBACK}:{web_port}"
        stack.wait_http(f"{host}/healthz/")
        print(
            f"chaos: {opts.duration:.0f} s of load with {opts.clients} customers; "
            f"killing web workers, the Celery worker and Redis (logs in {OUT})"
        )
        stop = threading.Event()
        sim = f"http://{LOOPBACK}:{sim_port}"
        threads = [
            threading.Thread(
                target=customer,
                kwargs={"host": host, "sim": sim, "tally": tally, "stop": stop, "number": i},
                daemon=True,
            )
            for i in range(opts.clients)
        ]
        chaos_thread = threading.Thread(
            target=chaos.run, args=(stop,), kwargs={"duration": opts.duration}, daemon=True
        )
        for thread in [*threads, chaos_thread]:
            thread.start()
        time.sleep(opts.duration)
        stop.set()
        for thread in [*threads, chaos_thread]:
            thread.join(timeout=60)
        if chaos.worker is None or chaos.worker.poll() is not None:
            chaos.start_worker()
        code = sweep_and_check(env, gw_port, tally)
    except KeyboardInterrupt:
        print("chaos: interrupted; stopping everything", file=sys.stderr)
        code = 130
    except BenchError as exc:
        print(f"chaos: could not run: {exc}", file=sys.stderr)
        code = 2
    finally:
        stack.stop()
        if not opts.keep:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            try:
                postgres_drop(db.url)
            except Exception as exc:
                print(f"chaos: could not drop the chaos database: {exc}", file=sys.stderr)
    print(f"chaos: done in {time.monotonic() - started:.0f} s, exit code {code}")
    return code


def sweep_and_check(env: dict[str, str], gw_port: int, tally: Tally) -> int:
    """Wait for the leases of killed workers to expire, run the sweeps, check, print."""
    time.sleep(int(env["OUTBOX_LEASE_SECONDS"]) + 1)
    sweeps = []
    for command in ("reconcile_payments", "resolve_stuck_attempts", "dispatch_outbox"):
        status, last = manage(env, command)
        sweeps.append((command, status, last))
    # The worker may still hold leases of messages it is sending right now: sweep once more
    # after they expired, so nothing is left SENDING with an expired lease by our own timing.
    time.sleep(int(env["OUTBOX_LEASE_SECONDS"]) + 1)
    status, last = manage(env, "dispatch_outbox")
    sweeps.append(("dispatch_outbox (again)", status, last))

    os.environ.update({"DJANGO_SETTINGS_MODULE": env["DJANGO_SETTINGS_MODULE"]})
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "LOG_LEVEL"):
        os.environ[key] = env[key]
    import django

    django.setup()
    from bench.checks import crash_invariants, order_status_counts

    checks = crash_invariants()
    received, twice = whatsapp_duplicates(gw_port)

    print("\nload and chaos")
    for key, n in sorted(tally.counts.items()):
        print(f"  {key:<58} {n:>6}")
    print("\nsweeps")
    for command, status, last in sweeps:
        print(f"  {command:<26} exit {status}  {last[:80]}")
    print("\norders by status: " + ", ".join(f"{k} {v}" for k, v in order_status_counts().items()))
    print("\ninvariant" + " " * 52 + "violations")
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        detail = f"  ({check.detail})" if check.detail else ""
        print(f"  {mark} {check.name:<55} {check.violations:>6}{detail}")
    print(
        f"  info WhatsApp messages delivered twice (at-least-once window)"
        f"  {twice:>6}  (of {received} received)"
    )
    broken = [check for check in checks if not check.ok]
    if broken:
        print(f"\nchaos: {len(broken)} invariant(s) broken", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
