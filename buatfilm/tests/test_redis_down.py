"""Redis is an optimisation, PostgreSQL the truth (issue 10, point 2).

A throwaway redis-server (own free port) backs the cache, the rate limits and the Celery broker;
with it stopped, checkout (form and API), the status page and API, the login-link page and the
webhook still work, the cache fails open with a warning, a publish is tried once (no retry loop
inside the request), and the Beat sweep delivers the messages that could not be enqueued. When
Redis returns, the rate limits apply again."""

import contextlib
import json
import logging
import re
import socket
import threading
import time

import pytest
from django.conf import settings as django_settings

from buatfilm.celery import app as celery_app
from buatfilm.testing import RedisServer
from courses.tests.factories import PackageFactory
from notifications.models import NotificationOutbox, OutboxStatus
from orders.models import Order, OrderStatus
from payments.models import PaymentAttempt
from payments.tests.webhook_cases import WEBHOOK_URL, midtrans_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def celery_broker(url: str):
    """Point the Celery app at `url` with the production transport options, then back."""
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options

    def reset_pools() -> None:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = dict(django_settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    try:
        yield
    finally:
        reset_pools()
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved


def fail_open_cache(url: str, skip_seconds: float = 0) -> dict:
    return {
        "default": {
            "BACKEND": "buatfilm.cache.FailOpenRedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "socket_connect_timeout": django_settings.REDIS_CONNECT_TIMEOUT,
                "socket_timeout": django_settings.REDIS_SOCKET_TIMEOUT,
                "fail_open_skip_seconds": skip_seconds,
            },
        }
    }


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def on_redis(settings, redis_server):
    """Cache, rate limits and broker on the throwaway Redis, as production has them."""
    settings.CACHES = fail_open_cache(redis_server.url)
    settings.RATELIMIT_ENABLE = True
    with celery_broker(redis_server.url):
        yield redis_server


def login_link(client, email="budi@example.com"):
    return client.post("/login/", {"email": email}, REMOTE_ADDR="198.51.100.9")


def test_rate_limits_fail_open_with_a_warning_and_resume_when_redis_returns(
    client, settings, on_redis, caplog
):
    settings.LOGIN_LINK_RATE_PER_IP = "2/h"
    assert [login_link(client).status_code for _ in range(3)] == [200, 200, 429]

    on_redis.stop()
    with caplog.at_level(logging.WARNING, logger="buatfilm.cache"):
        assert [login_link(client).status_code for _ in range(3)] == [200, 200, 200]
    assert "event=cache_unavailable" in caplog.text

    on_redis.start()  # an empty Redis again, on the same port: counting starts over
    assert [login_link(client).status_code for _ in range(3)] == [200, 200, 429]


def test_the_shop_works_on_postgresql_alone_while_redis_is_down(
    client, settings, on_redis, midtrans_sim, caplog, mailoutbox
):
    PackageFactory(code="pro", name="Paket Pro", price=499_000)
    on_redis.stop()

    # Checkout form: page, then a real submit (Snap at the simulator).
    page = client.get("/checkout/pro/")
    assert page.status_code == 200
    token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode()).group(1)
    submitted = client.post(
        "/checkout/pro/",
        {
            "name": "Budi Santoso",
            "email": "budi@example.com",
            "phone": "0812-3456-7890",
            "payment_method": "bni_va",
            "promo_code": "",
            "form_token": token,
        },
    )
    assert submitted.status_code == 303, submitted.content.decode()[:500]
    form_order = Order.objects.get(customer_email="budi@example.com")
    assert form_order.status == OrderStatus.PENDING_PAYMENT

    # Checkout API.
    created = client.post(
        "/api/orders/",
        data=json.dumps(
            {
                "package": "pro",
                "name": "Sari Dewi",
                "email": "sari@example.com",
                "phone": "081234567891",
                "payment_method": "bca_va",
            }
        ),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="redis-down-test-0001",
    )
    assert created.status_code == 201, created.content
    order = Order.objects.get(order_id=created.json()["order_id"])

    # Status page and API.
    status = client.get(f"/orders/{order.order_id}/", {"key": order.access_key})
    assert status.status_code == 200
    api = client.get(f"/api/orders/{order.order_id}/", HTTP_X_ORDER_KEY=order.access_key)
    assert api.status_code == 200 and api.json()["status"] == OrderStatus.PENDING_PAYMENT

    # Login-link page.
    assert client.get("/login/").status_code == 200
    assert login_link(client, "sari@example.com").status_code == 200

    # The webhook: applied, answered at once, messages stored for the sweep.
    attempt = PaymentAttempt.objects.get(order=order)
    started = time.monotonic()
    answer = client.post(
        WEBHOOK_URL, data=json.dumps(midtrans_body(attempt)), content_type="application/json"
    )
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.content
    assert elapsed < 3.0  # generous; the retry-loop test below proves the mechanism
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    waiting = NotificationOutbox.objects.filter(order=order, status=OutboxStatus.PENDING)
    assert waiting.count() >= 2  # success email + WhatsApp, not enqueued
    assert "event=cache_unavailable" in caplog.text

    # Beat's sweep (the same task body the scheduler runs) delivers them from PostgreSQL.
    from notifications.tasks import dispatch_outbox

    dispatch_outbox()
    rows = NotificationOutbox.objects.filter(order=order)
    assert (
        rows.exclude(status=OutboxStatus.SENT)
        .filter(template_name__in=waiting.values_list("template_name", flat=True))
        .count()
        == 0
    )
    assert any(order.customer_email in message.to for message in mailoutbox)


class AcceptAndClose:
    """A TCP port that accepts and at once closes every connection, counting them: what a
    client sees of a Redis that is going away. Each count is one connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.accepted = 0
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def dying_redis():
    server = AcceptAndClose()
    yield server
    server.close()


def test_a_publish_inside_a_request_is_tried_once_not_retried(dying_redis):
    from notifications.tasks import deliver_outbox_messages

    with celery_broker(dying_redis.url):
        with pytest.raises(Exception):  # noqa: B017 - kombu's OperationalError
            deliver_outbox_messages.delay([1])
        assert dying_redis.accepted == 1
        with pytest.raises(Exception):  # noqa: B017
            deliver_outbox_messages.delay([2])
        assert dying_redis.accepted == 2


def test_a_dead_cache_costs_one_connection_attempt_then_is_skipped(settings, dying_redis):
    from django.core.cache import cache

    settings.CACHES = fail_open_cache(dying_redis.url, skip_seconds=60)
    assert cache.add("k", 1, 60) is False
    assert cache.get("k", "miss") == "miss"
    with pytest.raises(ValueError):
        cache.incr("k")
    assert dying_redis.accepted == 1
