"""Start and stop the real stack on loopback: a dedicated database, gunicorn, the Midtrans
simulator and the fake WhatsApp gateway, each a child process in its own process group.

Why separate processes (and not threads of the runner): the numbers must be the ones the
production process layout gives, and a benchmark that is interrupted must not leave servers or
a half-written database behind, so every child is tracked here and stopped with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"
BENCH_SUFFIX = "_bench"


class BenchError(RuntimeError):
    """The benchmark cannot go on (a process died, a deadline passed): say why, no traceback."""


# Never route loopback traffic through a proxy a developer may have configured.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A port the kernel just handed out on loopback (tiny race with other programs: fine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET on loopback without proxies; (status, body), status 0 when nothing answered."""
    if urlsplit(url).hostname != LOOPBACK:
        raise ValueError(f"bench traffic stays on {LOOPBACK}: {url}")
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), exc.read()
    except OSError:
        return 0, b""


@dataclass(frozen=True)
class Database:
    """The benchmark's own database: `url` for the site, `label` for the report."""

    url: str
    label: str
    is_postgres: bool


def bench_database_url(database_url: str) -> str:
    """`.../buatfilm` -> `.../buatfilm_bench`; a name already ending in `_bench` is kept, so
    the benchmark only ever recreates a database whose name says it is disposable."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/") or "buatfilm"
    if not name.endswith(BENCH_SUFFIX):
        name += BENCH_SUFFIX
    return urlunsplit(parts._replace(path=f"/{name}"))


def _postgres_admin(database_url: str) -> tuple[str, str]:
    """(maintenance connection URL, bench database name) for CREATE/DROP DATABASE."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.endswith(BENCH_SUFFIX):
        raise BenchError(f"refusing to recreate {name!r}: not a *{BENCH_SUFFIX} database")
    if parts.hostname not in (LOOPBACK, "localhost", "::1"):
        raise BenchError("the benchmark runs on this machine only: DATABASE_URL must be local")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    return admin, name


def postgres_recreate(database_url: str) -> None:
    """Drop (forcefully: a previous interrupted run may hold connections) and create."""
    import psycopg
    from psycopg import sql

    admin, name = _postgres_admin(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def postgres_drop(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _postgres_admin(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def prepare_database(database_url: str, out_dir: Path) -> Database:
    """PostgreSQL when DATABASE_URL is set (a dedicated `*_bench` database, recreated), else a
    fresh SQLite file under var/bench/."""
    if database_url:
        url = bench_database_url(database_url)
        if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
            raise BenchError("DATABASE_URL must be PostgreSQL (or unset for SQLite)")
        postgres_recreate(url)
        return Database(url=url, label=f"PostgreSQL {urlsplit(url).path}", is_postgres=True)
    path = out_dir / "bench.sqlite3"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return Database(url=f"sqlite:///{path}", label=f"SQLite {path}", is_postgres=False)


@dataclass
class Stack:
    """The child processes of one benchmark run; `stop()` ends them all, bounded in time."""

    out_dir: Path
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.out_dir / f"{name}.log").open("wb")
        self._logs.append(log)
        child = subprocess.Popen(  # noqa: S603 - fixed argv built from our own venv
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn's workers stop with it
        )
        self.children.append((name, child))
        return child

    def groups(self) -> dict[str, int]:
        """Process group id of each child (each was started in its own session)."""
        return {name: child.pid for name, child in self.children}

    def check_alive(self) -> None:
        for name, child in self.children:
            if child.poll() is not None:
                raise BenchError(
                    f"{name} exited with code {child.returncode}; see {self.out_dir}/{name}.log"
                )

    def wait_http(self, url: str, *, timeout: float = 60.0) -> None:
        """Until `url` answers 200 (or a child died, or `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            status, _ = http_get(url, timeout=2.0)
            if status == 200:
                return
            time.sleep(0.2)
        raise BenchError(f"{url} did not answer 200 within {timeout:.0f} s")

    def wait_port(self, port: int, *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5):
                return
            time.sleep(0.1)
        raise BenchError(f"nothing listens on {LOOPBACK}:{port} after {timeout:.0f} s")

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM every child's process group, then SIGKILL what is left at the deadline."""
        for _, child in reversed(self.children):
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, child in reversed(self.children):
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)
        self.children.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()


def cpu_ticks() -> dict[int, tuple[str, int, int]]:
    """Every process: pid -> (command, process group, CPU ticks used so far). From /proc;
    empty on systems without it."""
    processes: dict[int, tuple[str, int, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        comm_end = text.rfind(")")
        fields = text[comm_end + 2 :].split()
        processes[int(stat.parent.name)] = (
            text[text.find("(") + 1 : comm_end],
            int(fields[2]),  # process group
            int(fields[11]) + int(fields[12]),  # utime + stime
        )
    return processes


def cpu_used(
    before: dict[int, tuple[str, int, int]],
    after: dict[int, tuple[str, int, int]],
    groups: dict[str, int],
) -> dict[str, float]:
    """CPU seconds used between two `cpu_ticks()` snapshots by each named process group, and
    by every process called `postgres` (the database server: not ours, but it runs on the
    same cores). Per pid, so a process that ended meanwhile cannot make a total go down (its
    last slice is lost: the shares are a slight underestimate)."""
    by_group = {pgid: name for name, pgid in groups.items()}
    ticks: dict[str, int] = dict.fromkeys([*groups, "postgres"], 0)
    for pid, (comm, group, used) in after.items():
        name = by_group.get(group) or ("postgres" if comm == "postgres" else None)
        if name is None:
            continue
        previous = before.get(pid)
        same_process = previous is not None and previous[0] == comm and previous[2] <= used
        ticks[name] += used - (previous[2] if previous is not None and same_process else 0)
    per_second = os.sysconf("SC_CLK_TCK")
    return {name: value / per_second for name, value in ticks.items()}


def cpu_steal_ticks() -> tuple[int, int]:
    """(steal, total) ticks of all CPUs from /proc/stat: time the hypervisor gave this VM's
    CPUs to someone else, which makes runs on a shared host vary; (0, 0) without /proc."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return 0, 0
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return values[7], sum(values)
