"""Project-wide pytest fixtures and the service markers.

A test marked `postgres`, `redis` or `browser` skips with a reason when the service is missing,
and fails instead when REQUIRE_SERVICES=1 (CI sets it), so CI can never go green by skipping.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _service_markers(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("this test needs PostgreSQL: set DATABASE_URL=postgres://...")
    if request.node.get_closest_marker("redis"):
        url = redis_url()
        if not url or not _redis_reachable(url):
            _missing("this test needs Redis: set REDIS_URL=redis://...")
    if request.node.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        _missing(f"this test needs Chromium at {CHROMIUM} (apt-get install chromium)")
