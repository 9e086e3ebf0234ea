"""Production settings: secrets come only from the environment and have no defaults.

Importing this module with any required variable missing or unsafe raises ImproperlyConfigured
naming every one of them (see `validation.production_problems`), so `manage.py` and the WSGI app
refuse to start a careless deploy instead of running on development defaults.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import LOGGING, env
from .validation import production_problems

DEBUG = False
# No development defaults here: empty means "not set" and is refused below.
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
SITE_URL = env("SITE_URL", default="").rstrip("/")
DATABASE_URL = env("DATABASE_URL", default="")
MIDTRANS_SERVER_KEY = env("MIDTRANS_SERVER_KEY", default="")
MIDTRANS_CLIENT_KEY = env("MIDTRANS_CLIENT_KEY", default="")
MIDTRANS_NOTIFICATION_URL = env(
    "MIDTRANS_NOTIFICATION_URL", default=f"{SITE_URL}/payments/midtrans/notification/"
)
MIDTRANS_SIMULATOR_ENABLED = False
EMAIL_BACKEND = env("EMAIL_BACKEND", default="")
OPS_EMAIL = env("OPS_EMAIL", default="")
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Hashed, compressed file names (`collectstatic` at build time): browsers may cache them forever.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = (  # type: ignore[index]
    "json" if LOG_FORMAT == "json" else "structured"
)

SECURE_SSL = env.bool("SECURE_SSL", default=True)
SECURE_SSL_REDIRECT = SECURE_SSL
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365 if SECURE_SSL else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_SSL)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL else None

if _problems := production_problems(globals()):
    raise ImproperlyConfigured(
        "Production settings refused; fix every line (see README, Production):\n  - "
        + "\n  - ".join(_problems)
    )
