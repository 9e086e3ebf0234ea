"""Project-wide pytest fixtures and the service markers.

A test marked `postgres`, `redis` or `browser` skips with a reason when the service is missing,
and fails instead when REQUIRE_SERVICES=1 (CI sets it), so CI can never go green by skipping.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection, connections

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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


@pytest.fixture(autouse=True)
def _midtrans_breaker_closed():
    """Every test starts with the shared Midtrans circuit breaker closed and forgotten (its
    state is in the cache, which outlives a test)."""
    from payments.midtrans import midtrans_breaker

    midtrans_breaker.cache_clear()
    midtrans_breaker().reset()
    yield
    midtrans_breaker().reset()
    midtrans_breaker.cache_clear()


@pytest.fixture
def midtrans_sim(settings):
    """A real Midtrans simulator on a free localhost port, with the site pointed at it.

    Starts `devtools.midtrans_simulator.SimulatorServer` signing with
    `settings.MIDTRANS_SERVER_KEY` and
    sets `MIDTRANS_SNAP_BASE_URL` / `MIDTRANS_API_BASE_URL` (through pytest-django's `settings`
    fixture, so they are restored afterwards), so `payments.midtrans.get_gateway()` talks to it
    through the real `midtransclient` over HTTP. Yields the server: `.simulator` has the test
    controls (`fail_next`, `delay_next`, `notify`, `transaction`, `requests_log`, `reset`).

    Notifications go to `settings.MIDTRANS_NOTIFICATION_URL` by default (nothing listens there
    in unit tests). A test that needs the webhook points it at its live server::

        midtrans_sim.simulator.notification_url = (
            live_server.url + "/payments/midtrans/notification/"
        )
    """
    from devtools.midtrans_simulator import SimulatorServer

    server = SimulatorServer(
        server_key=settings.MIDTRANS_SERVER_KEY,
        notification_url=settings.MIDTRANS_NOTIFICATION_URL,
    )
    server.start()
    settings.MIDTRANS_SNAP_BASE_URL = server.snap_base_url
    settings.MIDTRANS_API_BASE_URL = server.api_base_url
    try:
        yield server
    finally:
        server.simulator.wait_for_notifications(timeout=5)
        server.stop()


@pytest.fixture
def ratelimit_on(settings):
    """Turn django-ratelimit on (tests run with it off) with the clock frozen: its fixed
    windows start at a per-key offset, so a window boundary could otherwise fall mid-test."""
    import time

    import time_machine
    from django.core.cache import cache

    settings.RATELIMIT_ENABLE = True
    cache.clear()
    with time_machine.travel(time.time(), tick=False):
        yield
    cache.clear()


@pytest.fixture
def browser_page(monkeypatch):
    """A Playwright page in Debian chromium: 1280x900 desktop viewport, locale id-ID, 15 s
    default timeout. Use it with the `browser` marker (which skips without Chromium)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are ordinary blocking calls, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()
        # Without this, one PostgreSQL session opened by the ORM calls made while Playwright
        # was running stays open and the test database cannot be dropped after the run.
        connections.close_all()


@pytest.fixture
def phone_page(browser_page):
    """`browser_page` on a phone-sized (390x844) viewport."""
    browser_page.set_viewport_size({"width": 390, "height": 844})
    return browser_page
