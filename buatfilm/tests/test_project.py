"""Project-level guarantees: health check, migrations in sync (production settings: see
test_production_settings.py)."""

from pathlib import Path

import pytest
from django.core.management import call_command

from buatfilm.formatting import mask_email, mask_phone, rupiah, wib

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert body["midtrans_breaker"]["state"] == "closed"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_is_200_degraded_when_only_the_broker_is_unreachable(client):
    from buatfilm.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz/")
    finally:
        app.conf.broker_url = original
    # A Redis blip must not drain every web node from the load balancer.
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["broker"] == "down"
    assert body["broker_error"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_only_when_the_database_is_down(client):
    from django.db import connection

    from buatfilm.testing import free_port

    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())  # nothing listens there
    try:
        response = client.get("/healthz/")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "down"
    assert response.json()["database_error"] == "OperationalError"


@pytest.mark.django_db
def test_migrations_are_in_sync_with_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_landing_page_lists_active_packages(client):
    from courses.services import catalog_seed

    catalog_seed()
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Buat Film Pakai AI" in html
    assert "Rp 499.000" in html
    assert "/checkout/pro/" in html


def test_formatting_helpers():
    from datetime import UTC, datetime

    assert rupiah(499000) == "Rp 499.000"
    assert rupiah(1250000) == "Rp 1.250.000"
    assert wib(datetime(2026, 11, 24, 7, 5, tzinfo=UTC)) == "24 Nov 2026 14:05 WIB"
    assert mask_email("budi@gmail.com") == "b***i@gmail.com"
    assert mask_phone("+6281234567789") == "+62812****789"


def test_catalog_seed_is_idempotent(db):
    from courses.models import Course, Lesson, Package
    from courses.services import catalog_seed

    first = catalog_seed()
    second = catalog_seed()
    assert first == second == {"courses": 1, "lessons": 6, "packages": 3}
    assert Course.objects.count() == 1
    assert Lesson.objects.count() == 6
    assert set(Package.objects.values_list("code", flat=True)) == {"starter", "pro", "mentoring"}
    # Seeding sets the catalog price (orders keep their own snapshot).
    assert Package.objects.get(code="pro").price == 499_000
