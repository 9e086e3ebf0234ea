"""`bench.report`: the Server-Timing round trip, the profile and the targets table. Fixed
samples, no load and no timed assertions."""

import json

import pytest

from bench import report
from bench.report import Sample, Target


def sample(start: float, ms: float, timing: str = "", *, status: int = 200) -> Sample:
    row = {"t": start, "ms": ms, "status": status, "timing": timing, "outcome": None}
    return report.sample_from_json(json.loads(json.dumps(row)))


def words(line: str) -> str:
    return " ".join(line.split())


def test_server_timing_round_trip():
    header = report.server_timing_header(total=0.010, db=0.004, queries=7, snap=0.002)
    assert header == ("total;dur=10.000, db;dur=4.000;desc=7, midtrans;dur=2.000, app;dur=4.000")
    durations, queries = report.parse_server_timing(header)
    assert durations == {"total": 10.0, "db": 4.0, "midtrans": 2.0, "app": 4.0}
    assert queries == 7


def test_server_timing_without_snap_has_no_midtrans_entry():
    header = report.server_timing_header(total=0.003, db=0.001, queries=1, snap=0.0)
    assert "midtrans" not in header
    assert sample(0, 5, header).snap_ms is None


@pytest.mark.parametrize(
    ("header", "durations", "queries"),
    [
        ("", {}, None),
        ("garbage", {}, None),
        ('db;desc="3";dur=1.5 , cache;desc=hit', {"db": 1.5}, 3),
        ("total;dur=x, app;dur=2", {"app": 2.0}, None),
    ],
)
def test_server_timing_parsing_ignores_what_it_cannot_read(header, durations, queries):
    assert report.parse_server_timing(header) == (durations, queries)


def test_samples_keep_snap_ms_from_the_midtrans_entry():
    s = sample(0, 30, "total;dur=20, db;dur=5;desc=4, midtrans;dur=12, app;dur=3")
    assert (s.snap_ms, s.queries, s.timing) == (
        12.0,
        4,
        {"total": 20.0, "db": 5.0, "midtrans": 12.0, "app": 3.0},
    )


def test_profile_splits_the_client_latency():
    samples = [
        sample(0, 30, "total;dur=20, db;dur=6;desc=4, midtrans;dur=10, app;dur=4"),
        sample(0, 50, "total;dur=40, db;dur=10;desc=6, midtrans;dur=20, app;dur=10"),
        sample(0, 999),  # no header (a connection error): not in the profile
    ]
    p = report.profile(samples)
    assert p == report.Profile(
        requests=2, client=40.0, server=30.0, sql=8.0, queries=5.0, snap=15.0, python=7.0
    )
    assert p.waiting == 10.0
    sentence = report.where_time_goes(p)
    assert sentence.startswith("40.0 ms per request at the client = waiting 10.0 + server 30.0")
    assert sentence.endswith("largest: Snap")
    assert "SQL (5.0 queries) 8.0 (27%)" in sentence
    assert report.profile([sample(0, 1)]) is None


def test_profile_table_marks_the_slowest_pass():
    p = report.profile([sample(0, 10, "total;dur=4, db;dur=1;desc=2, app;dur=3")])
    text = report.profile_table({"status max": p, "webhook max": None}, mark="status max")
    lines = text.splitlines()
    assert words(lines[0]) == "pass n client ms waiting SQL queries Python Snap"
    assert words(lines[2]) == (
        "status max <- slowest vs its target 1 10.0 6.0 (60%) 1.0 (10%) 2.0 3.0 (30%) 0.0 (0%)"
    )
    assert words(lines[3]) == "webhook max 0 - - - - - -"


def test_ratio_targets_are_percent_of_the_floor():
    t = report.ratio_target("webhook", 350.0, 1000.0, 35.0, scenario="webhook max")
    assert (t.value, t.passed, t.score) == (35.0, True, 1.0)
    below = report.ratio_target("status", 300.0, 1000.0, 60.0, scenario="status max")
    assert (below.value, below.passed, below.score) == (30.0, False, 0.5)
    assert report.ratio_target("x", 300.0, 0.0, 60.0, scenario="").passed is False


def test_latency_targets_pass_at_or_below_the_goal_and_errors_fail_them():
    assert Target("p95", 25.0, 25.0, "ms", at_least=False).passed
    slow = Target("p95", 50.0, 25.0, "ms", at_least=False)
    assert (slow.passed, slow.score) == (False, 0.5)
    assert not Target("p95", 10.0, 25.0, "ms", at_least=False, errors=1).passed
    assert not Target("p95", None, 25.0, "ms", at_least=False).passed


def test_targets_table_and_the_slowest_target():
    goals = [
        report.ratio_target("webhook req/s / floor", 180.0, 1000.0, 35.0, scenario="webhook max"),
        Target("outbox", 100.0, 500.0, "msg/s"),  # furthest, but no profile
        Target("paid p95", 20.0, 25.0, "ms", at_least=False, scenario="webhook paced, paid"),
        Target("checkout p95", 90.0, 150.0, "ms", at_least=False, scenario="x", errors=2),
    ]
    lines = report.targets_table(goals).splitlines()
    assert lines[0].split() == ["target", "measured", "goal", "result"]
    assert words(lines[2]) == "webhook req/s / floor 18.0 % >= 35 % FAIL"
    assert words(lines[3]) == "outbox 100.0 msg/s >= 500 msg/s FAIL"
    assert lines[4].endswith("<= 25 ms  PASS")
    assert "90.0 ms (2 errors)" in lines[5] and lines[5].endswith("FAIL")
    profiled = ["webhook max", "webhook paced, paid"]
    assert report.slowest(goals, profiled) is goals[0]
    assert report.slowest([goals[2], goals[0]], iter(profiled)) is goals[0]  # generator: read once
    assert report.slowest(goals, []) is None


def test_checkout_throughput_excluding_snap():
    # 4 requests over 2 s on 2 slots (4 slot-seconds), 2 s of them in Snap: as if 2 slot-s.
    samples = [
        sample(0.0, 1000, "total;dur=900, midtrans;dur=500"),
        sample(0.0, 1000, "total;dur=900, midtrans;dur=500"),
        sample(1.0, 1000, "total;dur=900, midtrans;dur=500"),
        sample(1.0, 1000, "total;dur=900, midtrans;dur=500"),
    ]
    assert report.throughput(samples) == 2.0
    assert report.throughput_excluding_snap(samples, slots=2) == 4.0
    assert report.throughput_excluding_snap([], slots=2) == 0.0
    without_snap = [sample(0.0, 1000), sample(1.0, 1000)]
    assert report.throughput_excluding_snap(without_snap, slots=4) == report.throughput(
        without_snap
    )


def test_each_ratio_divides_by_the_floor_measured_around_its_scenario():
    floors = {"start": 600.0, "after checkout": 500.0, "after status": 400.0, "after webhook": 0.0}

    around = report.floors_around(floors, ["checkout", "status", "webhook"])

    # A pass that measured nothing (0 req/s) leaves the other side alone.
    assert around == {"checkout": 550.0, "status": 450.0, "webhook": 400.0}
