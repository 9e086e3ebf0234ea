"""Settings for pytest. DATABASE_URL / REDIS_URL switch the suite onto PostgreSQL / Redis."""

from .base import *  # noqa: F403
from .base import BASE_DIR, REDIS_BROKER_TRANSPORT_OPTIONS, env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MIDTRANS_SERVER_KEY = "SB-Mid-server-TEST-KEY"
MIDTRANS_CLIENT_KEY = "SB-Mid-client-TEST-KEY"
MIDTRANS_SIMULATOR_ENABLED = True
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405
# Tests that need a broker start their own worker against REDIS_URL; the rest never reach one.
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0}  # as in production: one publish attempt
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The rows of a test live in its own transaction, which other threads' connections cannot
# see: senders run in the test's thread (test_concurrency.py runs them side by side).
OUTBOX_SEND_CONCURRENCY = 1
WHATSAPP_FILE_PATH = env("WHATSAPP_FILE_PATH", default=str(BASE_DIR / "var" / "test-whatsapp"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATELIMIT_ENABLE = False
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests: serve from the finders
# Subprocess workers/beats started by tests get their own broker key prefix (parallel runs).
if TEST_CELERY_KEYPREFIX := env("TEST_CELERY_KEYPREFIX", default=""):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **REDIS_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": TEST_CELERY_KEYPREFIX,
    }
