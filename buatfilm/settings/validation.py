"""What production refuses to start with.

`production_problems(settings)` takes the finished settings namespace (the module's globals) and
returns one line per missing or unsafe variable; `buatfilm.settings.production` raises
`ImproperlyConfigured` with all of them at once, so a deploy is fixed in one round, not one
variable per restart. Pure function: the tests call it with a dict per case.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

# Backends that accept a message and deliver it to nobody: with them every outbox row would be
# marked SENT while no customer receives anything.
REFUSED_EMAIL_BACKENDS = {
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "notifications.backends.EmlFileEmailBackend",
}
# The credential each anymail ESP needs (SES takes its keys from boto3's usual sources).
ESP_CREDENTIALS = {
    "anymail.backends.mailgun.EmailBackend": ("MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN"),
    "anymail.backends.postmark.EmailBackend": ("POSTMARK_SERVER_TOKEN",),
    "anymail.backends.sendgrid.EmailBackend": ("SENDGRID_API_KEY",),
}
DEV_SECRET_KEY_PREFIXES = ("dev-insecure", "django-insecure", "test-secret")
# Same bar as Django's security.W009.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5


def _secret_key_problem(value: str) -> str | None:
    if not value:
        return "SECRET_KEY is not set"
    if value.startswith(DEV_SECRET_KEY_PREFIXES):
        return "SECRET_KEY is a development key"
    if len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < SECRET_KEY_MIN_UNIQUE:
        return (
            f"SECRET_KEY is too weak (at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE} different)"
        )
    return None


def production_problems(settings: Mapping[str, Any]) -> list[str]:
    """Every reason these settings are not fit to take payments, or [] when they are."""
    problems: list[str] = []

    def get(name: str, default: Any = "") -> Any:
        return settings.get(name, default)

    if problem := _secret_key_problem(str(get("SECRET_KEY") or "")):
        problems.append(problem)

    hosts = [host for host in get("ALLOWED_HOSTS", []) or [] if host]
    if not hosts:
        problems.append("ALLOWED_HOSTS is not set (the public host names, comma-separated)")
    elif "*" in hosts:
        problems.append("ALLOWED_HOSTS must name the hosts, not '*'")

    site_url = str(get("SITE_URL") or "")
    parsed_site = urlparse(site_url)
    if not site_url:
        problems.append("SITE_URL is not set (https://your-domain, used in every link sent)")
    elif parsed_site.scheme != "https" or not parsed_site.hostname:
        problems.append(f"SITE_URL must be an https:// URL (got {site_url!r})")
    elif parsed_site.hostname in {"localhost", "127.0.0.1", "::1"}:
        problems.append(f"SITE_URL points at this machine ({site_url!r}), not the public site")

    engine = str((get("DATABASES", {}) or {}).get("default", {}).get("ENGINE", ""))
    if not get("DATABASE_URL"):
        problems.append("DATABASE_URL is not set (postgres://user:pass@host:5432/db)")
    elif "postgresql" not in engine:
        problems.append(f"DATABASE_URL must be PostgreSQL (got engine {engine or 'none'!r})")

    redis_url = str(get("REDIS_URL") or "")
    if not redis_url:
        problems.append("REDIS_URL is not set (redis://host:6379/0: rate limits, cache, broker)")
    elif urlparse(redis_url).scheme not in {"redis", "rediss"}:
        problems.append(f"REDIS_URL must be a redis:// or rediss:// URL (got {redis_url!r})")
    broker = str(get("CELERY_BROKER_URL") or "")
    if redis_url and broker.split(":", 1)[0] in {"filesystem", "memory", ""}:
        problems.append(f"CELERY_BROKER_URL must be a real broker (got {broker!r})")
    if get("CELERY_TASK_ALWAYS_EAGER", False):
        problems.append("CELERY_TASK_ALWAYS_EAGER must be false (tasks would run in requests)")

    for name in ("MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY"):
        if not get(name):
            problems.append(f"{name} is not set")

    email_backend = str(get("EMAIL_BACKEND") or "")
    if not email_backend:
        problems.append("EMAIL_BACKEND is not set (an anymail ESP backend, see README)")
    elif email_backend in REFUSED_EMAIL_BACKENDS:
        problems.append(
            f"EMAIL_BACKEND {email_backend!r} delivers nothing; use a real ESP (see README)"
        )
    anymail = get("ANYMAIL", {}) or {}
    for key in ESP_CREDENTIALS.get(email_backend, ()):
        if not anymail.get(key):
            problems.append(f"{key} is not set (needed by EMAIL_BACKEND {email_backend!r})")

    if get("WHATSAPP_BACKEND") != "http":
        problems.append(
            f"WHATSAPP_BACKEND must be 'http' (got {get('WHATSAPP_BACKEND')!r}: "
            "the file backend delivers nothing)"
        )
    gateway = str(get("WHATSAPP_GATEWAY_URL") or "")
    if not gateway:
        problems.append("WHATSAPP_GATEWAY_URL is not set")
    elif urlparse(gateway).scheme not in {"http", "https"}:
        problems.append(f"WHATSAPP_GATEWAY_URL must be an http(s) URL (got {gateway!r})")
    if not get("WHATSAPP_GATEWAY_TOKEN"):
        problems.append("WHATSAPP_GATEWAY_TOKEN is not set")

    ops_email = str(get("OPS_EMAIL") or "")
    if not ops_email:
        problems.append("OPS_EMAIL is not set (where ops alerts go)")
    elif "@" not in ops_email or ops_email.endswith((".local", ".example", ".invalid")):
        problems.append(f"OPS_EMAIL must be a real mailbox (got {ops_email!r})")

    if not get("SECURE_SSL", True):
        problems.append("SECURE_SSL must be true (HTTPS redirect, secure cookies, HSTS)")

    if str(get("ADMIN_URL") or "admin/").strip("/") in {"", "admin"}:
        problems.append("ADMIN_URL must not be 'admin/' (move the staff admin off the default)")

    if "METRICS_TOKEN" in settings and not get("METRICS_TOKEN"):
        problems.append("METRICS_TOKEN is not set (bearer token for /metrics)")

    return problems
