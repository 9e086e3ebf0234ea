"""`GET /metrics`: bearer token, and every value equal to what the database (or the requests
just made) says."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from buatfilm.schedules import NAME_PREFIX, schedules_setup
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from orders.models import Order, OrderStatus
from orders.tests.lifecycle import order_in
from payments.midtrans import MidtransUnavailable, get_gateway
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import WEBHOOK_URL, midtrans_body, post_notification

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"


def scrape(client, token: str | None = TOKEN) -> dict[tuple[str, tuple], float]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, "Bearer ", f"Bearer {TOKEN}x"],
)
def test_metrics_needs_the_bearer_token(client, header):
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"buatfilm_" not in response.content


def test_metrics_is_open_without_a_configured_token_in_development(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


def test_gauges_match_the_database(client):
    now = timezone.now()
    for status, count in [
        (OrderStatus.PENDING_PAYMENT, 3),
        (OrderStatus.PAID, 2),
        (OrderStatus.EXPIRED, 1),
        (OrderStatus.CREATED, 1),
    ]:
        for _ in range(count):
            order_in(status)
    oldest = Order.objects.filter(status=OrderStatus.PENDING_PAYMENT).order_by("created_at")[0]
    Order.objects.filter(pk=oldest.pk).update(created_at=now - timedelta(hours=3))
    # One outbox row due for 10 minutes, one retry not yet due, one lease that ran out 2 min ago.
    order = order_in(OrderStatus.CREATED)
    due = NotificationOutbox.objects.create(
        order=order,
        channel=Channel.EMAIL,
        template_name=Template.PAYMENT_REMINDER,
        recipient="budi@example.com",
        status=OutboxStatus.RETRYING,
        next_attempt_at=now - timedelta(minutes=10),
    )
    NotificationOutbox.objects.create(
        order=order,
        channel=Channel.WHATSAPP,
        template_name=Template.PAYMENT_REMINDER,
        recipient="+6281234567789",
        status=OutboxStatus.RETRYING,
        next_attempt_at=now + timedelta(hours=1),
    )
    NotificationOutbox.objects.create(
        order=order,
        channel=Channel.EMAIL,
        template_name=Template.ORDER_EXPIRED,
        recipient="budi@example.com",
        status=OutboxStatus.SENDING,
        locked_until=now - timedelta(minutes=2),
    )
    NotificationOutbox.objects.create(
        channel=Channel.EMAIL,
        template_name=Template.OPS_ALERT,
        recipient="ops@example.com",
        dedupe_key="metrics-test",
        status=OutboxStatus.DLQ,
    )

    samples = scrape(client)

    for status in OrderStatus.values:
        assert value(samples, "buatfilm_orders", status=status) == (
            Order.objects.filter(status=status).count()
        ), status
    assert value(samples, "buatfilm_orders", status="PAID") == 2
    for channel in Channel.values:
        for status in OutboxStatus.values:
            expected = NotificationOutbox.objects.filter(channel=channel, status=status).count()
            assert (
                value(samples, "buatfilm_outbox_messages", channel=channel, status=status)
                == expected
            ), (channel, status)
    assert value(samples, "buatfilm_outbox_messages", channel="EMAIL", status="DLQ") == 1
    pending_age = value(samples, "buatfilm_oldest_pending_order_age_seconds")
    assert 3 * 3600 <= pending_age < 3 * 3600 + 300
    due_age = value(samples, "buatfilm_outbox_oldest_due_age_seconds")
    assert 600 <= due_age < 900, due_age
    NotificationOutbox.objects.filter(pk=due.pk).update(status=OutboxStatus.SENT)
    due_age = value(scrape(client), "buatfilm_outbox_oldest_due_age_seconds")
    assert 120 <= due_age < 400, "the expired lease is the oldest due row now"


def test_ages_are_zero_when_nothing_waits(client):
    order_in(OrderStatus.PAID)
    NotificationOutbox.objects.update(status=OutboxStatus.SENT)
    samples = scrape(client)
    assert value(samples, "buatfilm_oldest_pending_order_age_seconds") == 0
    assert value(samples, "buatfilm_outbox_oldest_due_age_seconds") == 0


def test_beat_last_run_per_job_from_the_schedule(client):
    schedules_setup()
    ran_at = timezone.now() - timedelta(minutes=7)
    PeriodicTask.objects.filter(name=NAME_PREFIX + "expire_orders").update(last_run_at=ran_at)
    PeriodicTask.objects.filter(name=NAME_PREFIX + "reconcile_payments").update(enabled=False)
    samples = scrape(client)
    name = "buatfilm_celery_beat_last_run_timestamp_seconds"
    assert value(samples, name, job="expire_orders") == pytest.approx(ran_at.timestamp())
    assert (name, (("job", "dispatch_outbox"),)) in samples
    assert value(samples, name, job="dispatch_outbox") == 0, "never run yet"
    assert (name, (("job", "reconcile_payments"),)) not in samples, "paused jobs are not watched"


def test_beat_writes_last_run_after_every_sent_job():
    from django_celery_beat.schedulers import DatabaseScheduler

    from buatfilm.celery import app

    scheduler = DatabaseScheduler(app=app, lazy=True)
    assert scheduler.sync_every_tasks == 1


def test_webhook_counters_and_latency(client):
    attempt = PaymentAttemptFactory()
    before = scrape(client)

    post_notification(client, midtrans_body(attempt, "settlement"))
    post_notification(client, midtrans_body(attempt, "settlement"))  # the duplicate
    forged = midtrans_body(attempt, "settlement", server_key="not-our-key")
    assert post_notification(client, forged).status_code == 403
    assert post_notification(client, forged).status_code == 403
    assert client.post(WEBHOOK_URL, "not json", content_type="application/json").status_code == 400

    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("buatfilm_webhook_requests_total", outcome="paid") == 1
    assert delta("buatfilm_webhook_requests_total", outcome="duplicate") == 1
    assert delta("buatfilm_webhook_requests_total", outcome="invalid_signature") == 2
    assert delta("buatfilm_webhook_requests_total", outcome="bad_request") == 1
    assert delta("buatfilm_webhook_invalid_signature_total") == 2
    assert delta("buatfilm_webhook_duration_seconds_count") == 5
    assert delta("buatfilm_webhook_duration_seconds_bucket", le="+Inf") == 5
    assert delta("buatfilm_webhook_duration_seconds_sum") > 0


def test_midtrans_call_latency_by_call_and_result(client, midtrans_sim, settings):
    before = scrape(client)
    gateway = get_gateway()
    assert gateway.get_status("NO-SUCH-ORDER-1") is None  # 404: "not started", still a call
    settings.MIDTRANS_API_BASE_URL = "http://127.0.0.1:1"  # nothing listens on port 1
    settings.MIDTRANS_MAX_RETRIES = 0
    with pytest.raises(MidtransUnavailable):
        get_gateway().expire("NO-SUCH-ORDER-2")
    after = scrape(client)
    name = "buatfilm_midtrans_call_duration_seconds_count"
    rejected = {"call": "status", "result": "MidtransRejected"}
    unavailable = {"call": "expire", "result": "MidtransUnavailable"}
    assert value(after, name, **rejected) - value(before, name, **rejected) == 1
    assert value(after, name, **unavailable) - value(before, name, **unavailable) == 1


def test_example_alert_rules_use_only_exported_metrics(client):
    import re
    from pathlib import Path

    import yaml

    from buatfilm.schedules import schedules_setup

    schedules_setup()
    rules_file = Path(__file__).resolve().parents[2] / "docs" / "prometheus-alerts.yml"
    rules = yaml.safe_load(rules_file.read_text())["groups"][0]["rules"]
    assert {"BuatfilmOutboxDeadLetters", "BuatfilmOldestPendingOrderOld", "BuatfilmBeatSilent"} <= {
        rule["alert"] for rule in rules
    }
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    exported = set(re.findall(r"^# HELP (buatfilm_[a-z_]+) ", text, re.MULTILINE))
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for name in re.findall(r"buatfilm_[a-z_]+", rules_file.read_text())
    }
    assert used, "no metric referenced"
    assert used <= exported, used - exported
