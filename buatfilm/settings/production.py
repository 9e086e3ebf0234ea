"""Production settings: secrets come only from the environment and have no defaults.

Importing this module without SECRET_KEY, ALLOWED_HOSTS or the Midtrans keys raises
ImproperlyConfigured, so a misconfigured deploy fails at start, not at the first payment.
"""

from .base import *  # noqa: F403
from .base import LOGGING, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
MIDTRANS_SERVER_KEY = env("MIDTRANS_SERVER_KEY")
MIDTRANS_CLIENT_KEY = env("MIDTRANS_CLIENT_KEY")
MIDTRANS_SIMULATOR_ENABLED = False
METRICS_TOKEN = env("METRICS_TOKEN")
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
