"""`make bench-scale` keeps working as the schema grows: a tiny run seeds every table through
the models' own fields and runs every timed operation without an error."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_a_tiny_scale_run_seeds_and_times_every_operation():
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"]}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--small", "300", "--orders", "900", "--repeat", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "seeded up to 900 orders" in result.stdout
    for operation in ("admin search: VA number", "dashboard", "status API", "outbox claim"):
        assert operation in result.stdout
    assert "ERROR" not in result.stdout
    # The hourly jobs are judged; their daily full runs are shown, not judged.
    for job in ("job: daily summary", "job: integrity check"):
        assert job in result.stdout
    for job in ("daily summary in full", "integrity check in full"):
        [row] = [
            line for line in result.stdout.splitlines() if line.startswith(f"daily job: {job}")
        ]
        assert " info " in row
