"""Production refuses to start misconfigured (issue 10, point 1).

Each case imports `buatfilm.settings.production` afresh under a complete production env with
one variable removed or unsafe and expects `ImproperlyConfigured` naming it; subprocess tests
prove `manage.py` and the WSGI app refuse too, every problem at once, and that the complete env
passes `check --deploy` without a warning.
"""

import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from buatfilm.testing import production_env

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULES = ("buatfilm.settings.base", "buatfilm.settings.production")
# Variables that change what production sees; cleared so the test run's own env cannot leak in.
READ_BY_SETTINGS = [
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "MIDTRANS_SERVER_KEY",
    "MIDTRANS_CLIENT_KEY",
    "EMAIL_BACKEND",
    "POSTMARK_SERVER_TOKEN",
    "MAILGUN_API_KEY",
    "MAILGUN_SENDER_DOMAIN",
    "SENDGRID_API_KEY",
    "WHATSAPP_BACKEND",
    "WHATSAPP_GATEWAY_URL",
    "WHATSAPP_GATEWAY_TOKEN",
    "OPS_EMAIL",
    "ADMIN_URL",
    "METRICS_TOKEN",
    "SECURE_SSL",
]


def load_production(monkeypatch, **overrides: str):
    """Import the production settings module under `production_env(**overrides)`."""
    for name in READ_BY_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in production_env(**overrides).items():
        monkeypatch.setenv(name, value)
    saved = {name: sys.modules.pop(name, None) for name in SETTINGS_MODULES}
    try:
        return importlib.import_module("buatfilm.settings.production")
    finally:
        for name, module in saved.items():
            sys.modules.pop(name, None)
            if module is not None:
                sys.modules[name] = module


def refusal(monkeypatch, **overrides: str) -> str:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        load_production(monkeypatch, **overrides)
    return str(excinfo.value)


def test_the_complete_env_loads(monkeypatch):
    production = load_production(monkeypatch)
    assert production.DEBUG is False
    assert production.DATABASES["default"]["ENGINE"] == "buatfilm.postgresql"
    assert production.CACHES["default"]["BACKEND"].endswith("RedisCache")
    assert production.CELERY_BROKER_URL.startswith("redis://")
    assert production.MIDTRANS_NOTIFICATION_URL == (
        "https://buatfilm.example.com/payments/midtrans/notification/"
    )


def test_postgresql_prepares_repeated_statements_unless_told_not_to(monkeypatch):
    monkeypatch.delenv("DB_PREPARE_THRESHOLD", raising=False)
    options = load_production(monkeypatch).DATABASES["default"]["OPTIONS"]
    assert (options["server_side_binding"], options["prepare_threshold"]) == (True, 5)
    # Behind a pooler that cannot keep prepared statements: parameters stay server-side.
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "")
    options = load_production(monkeypatch).DATABASES["default"]["OPTIONS"]
    assert (options["server_side_binding"], options["prepare_threshold"]) == (True, None)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "dev-insecure-secret-key-change-me" + "x" * 30}, "development key"),
        ({"SECRET_KEY": "short-but-not-empty"}, "SECRET_KEY is too weak"),
        ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY is too weak"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must name the hosts"),
        ({"SITE_URL": ""}, "SITE_URL is not set"),
        ({"SITE_URL": "http://buatfilm.example.com"}, "SITE_URL must be an https:// URL"),
        ({"SITE_URL": "https://127.0.0.1:8000"}, "SITE_URL points at this machine"),
        ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
        ({"DATABASE_URL": "sqlite:////tmp/prod.sqlite3"}, "DATABASE_URL must be PostgreSQL"),
        ({"REDIS_URL": ""}, "REDIS_URL is not set"),
        ({"REDIS_URL": "memcached://cache:11211"}, "REDIS_URL must be a redis://"),
        ({"CELERY_BROKER_URL": "filesystem://"}, "CELERY_BROKER_URL must be a real broker"),
        ({"CELERY_TASK_ALWAYS_EAGER": "true"}, "CELERY_TASK_ALWAYS_EAGER must be false"),
        ({"MIDTRANS_SERVER_KEY": ""}, "MIDTRANS_SERVER_KEY is not set"),
        ({"MIDTRANS_CLIENT_KEY": ""}, "MIDTRANS_CLIENT_KEY is not set"),
        ({"EMAIL_BACKEND": ""}, "EMAIL_BACKEND is not set"),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"},
            "delivers nothing",
        ),
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, "delivers nothing"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}, "delivers nothing"),
        ({"EMAIL_BACKEND": "notifications.backends.EmlFileEmailBackend"}, "delivers nothing"),
        ({"POSTMARK_SERVER_TOKEN": ""}, "POSTMARK_SERVER_TOKEN is not set"),
        ({"WHATSAPP_BACKEND": ""}, "WHATSAPP_BACKEND must be 'http'"),
        ({"WHATSAPP_BACKEND": "file"}, "WHATSAPP_BACKEND must be 'http'"),
        ({"WHATSAPP_GATEWAY_URL": ""}, "WHATSAPP_GATEWAY_URL is not set"),
        ({"WHATSAPP_GATEWAY_URL": "waha:3000"}, "WHATSAPP_GATEWAY_URL must be an http(s) URL"),
        ({"WHATSAPP_GATEWAY_TOKEN": ""}, "WHATSAPP_GATEWAY_TOKEN is not set"),
        ({"OPS_EMAIL": ""}, "OPS_EMAIL is not set"),
        ({"OPS_EMAIL": "ops@buatfilm.local"}, "OPS_EMAIL must be a real mailbox"),
        ({"ADMIN_URL": ""}, "ADMIN_URL must not be 'admin/'"),
        ({"ADMIN_URL": "/admin"}, "ADMIN_URL must not be 'admin/'"),
        ({"METRICS_TOKEN": ""}, "METRICS_TOKEN is not set"),
        ({"SECURE_SSL": "false"}, "SECURE_SSL must be true"),
    ],
)
def test_production_refuses_each_missing_or_unsafe_variable(monkeypatch, overrides, named):
    message = refusal(monkeypatch, **overrides)
    assert named in message
    # Exactly one problem: the others in the env are fine.
    assert message.count("\n  - ") == 1, message


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_manage_py_names_every_missing_variable_at_once():
    env = {
        "DJANGO_SETTINGS_MODULE": "buatfilm.settings.production",
        "PATH": os.environ.get("PATH", ""),
    }
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SITE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "MIDTRANS_SERVER_KEY",
        "MIDTRANS_CLIENT_KEY",
        "EMAIL_BACKEND",
        "WHATSAPP_BACKEND",
        "WHATSAPP_GATEWAY_URL",
        "WHATSAPP_GATEWAY_TOKEN",
        "OPS_EMAIL",
        "ADMIN_URL",
    ):
        assert name in result.stderr, name


def test_the_wsgi_app_refuses_to_start_misconfigured():
    env = production_env(REDIS_URL="", WHATSAPP_BACKEND="file")
    del env["DJANGO_SETTINGS_MODULE"]  # wsgi.py defaults to production
    result = run([sys.executable, "-c", "import buatfilm.wsgi"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "REDIS_URL is not set" in result.stderr
    assert "WHATSAPP_BACKEND must be 'http'" in result.stderr


def test_the_complete_env_passes_check_deploy_without_a_warning():
    with tempfile.TemporaryDirectory() as static_root:
        env = production_env(STATIC_ROOT=static_root)
        result = run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env
        )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
