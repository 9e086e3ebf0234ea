"""Turn raw samples into the SPEC §12 table: requests, req/s, p50/p95, ratio to the floor.

Why raw samples: locust rounds its percentiles (to 10 ms above 100 ms); the targets are tens of
milliseconds, so percentiles are computed here from every request's own latency.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
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


def read_samples(path: Path) -> list[Sample]:
    if not path.exists():
        return []
    samples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row: dict[str, Any] = json.loads(line)
            samples.append(
                Sample(
                    start=float(row["t"] or 0.0),
                    ms=float(row["ms"]),
                    status=int(row["status"]),
                    snap_ms=row.get("snap_ms"),
                    error=row.get("error"),
                    outcome=row.get("outcome"),
                )
            )
    return samples


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


@dataclass
class Row:
    """One line of the table; `passed` is None when the row has no target."""

    scenario: str
    requests: int
    rate: float
    p50: float | None
    p95: float | None
    errors: int = 0
    load: str = ""
    target: str = "-"
    passed: bool | None = None
    ratio: float | None = None


def latency_row(
    scenario: str,
    samples: Sequence[Sample],
    *,
    ok: Iterable[int],
    latencies: Sequence[float] | None = None,
    target_p95_ms: float | None = None,
) -> Row:
    """A row for an HTTP scenario; `latencies` overrides the measured ones (checkout minus
    Snap). Errors = answers outside `ok` (429 included) and connection errors."""
    accepted = set(ok)
    values = sorted(latencies if latencies is not None else [s.ms for s in samples])
    p95 = percentile(values, 95)
    row = Row(
        scenario=scenario,
        requests=len(samples),
        rate=throughput(samples),
        p50=percentile(values, 50),
        p95=p95,
        errors=sum(1 for s in samples if s.status not in accepted),
    )
    if target_p95_ms is not None:
        row.target = f"p95 < {target_p95_ms:g} ms"
        row.passed = p95 is not None and p95 < target_p95_ms and row.errors == 0
    return row


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
        "target",
        "result",
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
                row.target,
                "-" if row.passed is None else ("PASS" if row.passed else "FAIL"),
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
