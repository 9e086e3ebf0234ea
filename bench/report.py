"""Turn raw samples into the SPEC §12 table (requests, req/s, p50/p95, ratio to the floor), the
targets (issue 16) and a profile of where the server time went.

Why raw samples: locust rounds its percentiles (to 10 ms above 100 ms); the targets are tens of
milliseconds, so percentiles are computed here from every request's own latency. Each sample
also carries the `Server-Timing` header `bench.wsgi` sends (total, db + query count, midtrans,
app), parsed here so the parsing is unit-tested without locust.
"""

from __future__ import annotations

import contextlib
import json
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    start: float  # epoch seconds
    ms: float
    status: int
    snap_ms: float | None
    error: str | None
    outcome: str | None = None
    timing: dict[str, float] | None = None  # Server-Timing durations (ms) by name
    queries: int | None = None


def server_timing_header(*, total: float, db: float, queries: int, snap: float) -> str:
    """The `Server-Timing` value `bench.wsgi` sends (seconds in, milliseconds out); `app` is
    what is left of the total: Python. `midtrans` only when the request called Snap."""
    entries = [f"total;dur={total * 1000:.3f}", f"db;dur={db * 1000:.3f};desc={queries}"]
    if snap:
        entries.append(f"midtrans;dur={snap * 1000:.3f}")
    entries.append(f"app;dur={max(0.0, total - db - snap) * 1000:.3f}")
    return ", ".join(entries)


_TIMING_ENTRY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*((?:;[^;,]*)*)$")


def parse_server_timing(header: str) -> tuple[dict[str, float], int | None]:
    """`total;dur=12.5, db;dur=3.1;desc=9` -> ({"total": 12.5, "db": 3.1}, 9): durations by
    entry name, and the query count (the `desc` of `db`). Unknown or malformed parts are
    ignored: a missing entry means "not measured", never zero."""
    durations: dict[str, float] = {}
    queries: int | None = None
    for entry in header.split(","):
        match = _TIMING_ENTRY.match(entry)
        if not match:
            continue
        name = match.group(1)
        params = {
            key.strip(): value.strip().strip('"')
            for key, _, value in (part.partition("=") for part in match.group(2).split(";")[1:])
        }
        with contextlib.suppress(KeyError, ValueError):
            durations[name] = float(params["dur"])
        if name == "db":
            with contextlib.suppress(KeyError, ValueError):
                queries = int(params["desc"])
    return durations, queries


def sample_from_json(row: dict[str, Any]) -> Sample:
    durations, queries = parse_server_timing(row.get("timing") or "")
    return Sample(
        start=float(row["t"] or 0.0),
        ms=float(row["ms"]),
        status=int(row["status"]),
        snap_ms=durations.get("midtrans"),
        error=row.get("error"),
        outcome=row.get("outcome"),
        timing=durations or None,
        queries=queries,
    )


def read_samples(path: Path) -> list[Sample]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [sample_from_json(json.loads(line)) for line in lines if line.strip()]


def percentile(values: Sequence[float], q: int) -> float | None:
    """Linear interpolation between closest ranks (`statistics.quantiles`, inclusive)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def throughput(samples: Sequence[Sample]) -> float:
    """Requests per second over the wall time from the first start to the last answer."""
    if not samples:
        return 0.0
    first = min(s.start for s in samples)
    last = max(s.start + s.ms / 1000 for s in samples)
    return len(samples) / (last - first) if last > first else 0.0


def throughput_excluding_snap(samples: Sequence[Sample], *, slots: int) -> float:
    """Requests per second had each Snap call taken no time, for a pass that kept all `slots`
    web workers busy (max mode): requests / (worker-seconds - Snap seconds) * slots. Every
    sample counts as a request; each sample's Snap time is subtracted from the slots' time."""
    rate = throughput(samples)
    if not rate or slots <= 0:
        return 0.0
    wall = len(samples) / rate
    snap_seconds = sum(s.snap_ms or 0.0 for s in samples) / 1000
    busy = wall * slots - snap_seconds
    return len(samples) * slots / busy if busy > 0 else 0.0


@dataclass
class Row:
    """One line of the table (measurements only; verdicts are in `Target`)."""

    scenario: str
    requests: int
    rate: float
    p50: float | None
    p95: float | None
    errors: int = 0
    load: str = ""
    ratio: float | None = None


def latency_row(
    scenario: str,
    samples: Sequence[Sample],
    *,
    ok: Iterable[int],
    latencies: Sequence[float] | None = None,
) -> Row:
    """A row for an HTTP scenario; `latencies` overrides the measured ones (checkout minus
    Snap). Errors = answers outside `ok` (429 included) and connection errors."""
    accepted = set(ok)
    values = sorted(latencies if latencies is not None else [s.ms for s in samples])
    return Row(
        scenario=scenario,
        requests=len(samples),
        rate=throughput(samples),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        errors=sum(1 for s in samples if s.status not in accepted),
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(rows: Sequence[Row]) -> str:
    """Fixed-width text table; the ratio column is p95 / the same load mode's healthz p95."""
    headers = (
        "scenario",
        "load",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p95/floor",
        "errors",
    )
    lines: list[tuple[str, ...]] = [headers]
    for row in rows:
        ratio = row.ratio
        lines.append(
            (
                row.scenario,
                row.load,
                str(row.requests),
                f"{row.rate:.1f}",
                _ms(row.p50),
                _ms(row.p95),
                "-" if ratio is None else f"{ratio:.1f}x",
                str(row.errors),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    numeric = {2, 3, 4, 5, 6, 7}

    def render(line: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def by_outcome(samples: Sequence[Sample]) -> str:
    """`paid p95 41.0 ms (n=150), duplicate ...`: which webhook outcomes make the tail."""
    groups: dict[str, list[float]] = {}
    for sample in samples:
        groups.setdefault(sample.outcome or f"HTTP {sample.status}", []).append(sample.ms)
    parts = [
        f"{name} p50 {percentile(sorted(values), 50) or 0:.1f} / p95 "
        f"{percentile(sorted(values), 95) or 0:.1f} ms (n={len(values)})"
        for name, values in sorted(groups.items(), key=lambda item: -len(item[1]))
    ]
    return "; ".join(parts)


# --- Targets (issue 16) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One goal: `value` against `goal` (`at_least`: value >= goal, else value <= goal).
    `scenario` names the pass the value comes from ("webhook max"), for the profile; a target
    with errors in its pass fails whatever the value."""

    name: str
    value: float | None
    goal: float
    unit: str
    at_least: bool = True
    scenario: str = ""
    errors: int = 0

    @property
    def passed(self) -> bool:
        if self.value is None or self.errors:
            return False
        return self.value >= self.goal if self.at_least else self.value <= self.goal

    @property
    def score(self) -> float:
        """How far along the target is: 1.0 = exactly met, 0.5 = half way (2x too slow)."""
        if not self.value:
            return 0.0
        return self.value / self.goal if self.at_least else self.goal / self.value


def floors_around(floors: Mapping[str, float], scenarios: Sequence[str]) -> dict[str, float]:
    """The floor each scenario's ratio divides by: the mean of the floor pass measured just
    before its scenario and the one just after it (`"after <scenario>"`), in the order
    `floors` holds them. A machine that slows down mid-run then moves both sides of a ratio."""
    order = list(floors)
    around: dict[str, float] = {}
    for scenario in scenarios:
        after = order.index(f"after {scenario}")
        pair = [floors[when] for when in order[max(0, after - 1) : after + 1] if floors[when]]
        around[scenario] = sum(pair) / len(pair) if pair else 0.0
    return around


def ratio_target(
    name: str, rate: float, floor: float, goal_percent: float, *, scenario: str, errors: int = 0
) -> Target:
    """A throughput target as a percentage of the floor's req/s in the same run."""
    value = 100 * rate / floor if floor else None
    return Target(name, value, goal_percent, "%", scenario=scenario, errors=errors)


def targets_table(targets: Sequence[Target]) -> str:
    lines = [("target", "measured", "goal", "result")]
    for t in targets:
        measured = "-" if t.value is None else f"{t.value:.1f} {t.unit}"
        if t.errors:
            measured += f" ({t.errors} errors)"
        goal = f"{'>=' if t.at_least else '<='} {t.goal:g} {t.unit}"
        lines.append((t.name, measured, goal, "PASS" if t.passed else "FAIL"))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]

    def render(line: tuple[str, ...]) -> str:
        cells = [line[0].ljust(widths[0]), line[1].rjust(widths[1]), line[2].rjust(widths[2])]
        return "  ".join([*cells, line[3]])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def slowest(targets: Sequence[Target], profiled: Iterable[str]) -> Target | None:
    """The target furthest from its goal among those whose pass can be profiled."""
    names = set(profiled)
    candidates = [t for t in targets if t.scenario in names]
    return min(candidates, key=lambda t: t.score) if candidates else None


# --- Profile: where the time goes -----------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """Mean milliseconds per request of one pass, split by where they went. `client` is what
    the load generator measured; `server` the WSGI call (Server-Timing `total`) = `sql` +
    `snap` + `python`; `waiting` = client - server: the gunicorn backlog, the network and the
    client itself. Only samples with a Server-Timing header count."""

    requests: int
    client: float
    server: float
    sql: float
    queries: float
    snap: float
    python: float

    @property
    def waiting(self) -> float:
        return max(0.0, self.client - self.server)


def profile(samples: Sequence[Sample]) -> Profile | None:
    timed = [s for s in samples if s.timing and "total" in s.timing]
    if not timed:
        return None

    def mean(values: Iterable[float]) -> float:
        return statistics.fmean(values)

    return Profile(
        requests=len(timed),
        client=mean(s.ms for s in timed),
        server=mean(s.timing["total"] for s in timed if s.timing),
        sql=mean(s.timing.get("db", 0.0) for s in timed if s.timing),
        queries=mean(s.queries or 0 for s in timed),
        snap=mean(s.timing.get("midtrans", 0.0) for s in timed if s.timing),
        python=mean(s.timing.get("app", 0.0) for s in timed if s.timing),
    )


def profile_table(profiles: dict[str, Profile | None], *, mark: str = "") -> str:
    """One row per pass: mean ms per request and the share of the client's latency."""
    headers = ("pass", "n", "client ms", "waiting", "SQL", "queries", "Python", "Snap")
    lines: list[tuple[str, ...]] = [headers]
    for name, p in profiles.items():
        if p is None:
            lines.append((name, "0", "-", "-", "-", "-", "-", "-"))
            continue

        def part(ms: float, p: Profile = p) -> str:
            return f"{ms:.1f} ({ms / p.client:.0%})" if p.client else f"{ms:.1f}"

        label = f"{name} <- slowest vs its target" if name == mark else name
        lines.append(
            (
                label,
                str(p.requests),
                f"{p.client:.1f}",
                part(p.waiting),
                part(p.sql),
                f"{p.queries:.1f}",
                part(p.python),
                part(p.snap),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]

    def render(line: tuple[str, ...]) -> str:
        rest = [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        return "  ".join([line[0].ljust(widths[0]), *rest])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def where_time_goes(p: Profile) -> str:
    """One sentence: the client's latency split into waiting and server time, and the server
    time into its parts, largest first (in a saturated max pass the waiting is queueing behind
    other requests' server time, so the server split is what to improve)."""
    parts = {
        "Python": p.python,
        f"SQL ({p.queries:.1f} queries)": p.sql,
        "Snap": p.snap,
    }
    ranked = sorted(parts.items(), key=lambda item: -item[1])
    split = " + ".join(
        f"{name} {ms:.1f}" + (f" ({ms / p.server:.0%})" if p.server else "") for name, ms in ranked
    )
    return (
        f"{p.client:.1f} ms per request at the client = waiting {p.waiting:.1f} + server "
        f"{p.server:.1f}; server = {split}; largest: {ranked[0][0]}"
    )
