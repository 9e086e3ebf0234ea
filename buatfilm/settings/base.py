"""Settings shared by every environment.

Every knob is an environment variable with a safe default, so `make run` works with no env at
all: SQLite and a filesystem Celery broker under `var/`, email and WhatsApp written to files.
`.env.example` lists every variable.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-secret-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "supportdesk.admin_apps.SupportAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI files served from static/, no CDN
    "django_celery_beat",
    "anymail",
    "axes",
    "buatfilm",
    "orders",
    "payments",
    "notifications",
    "courses",
    "content",
    "supportdesk",
]

MIDDLEWARE = [
    "buatfilm.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "buatfilm.csp.ContentSecurityPolicyMiddleware",  # django-csp + the Midtrans form-action
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL / lone surrogates / over-long values -> 400 before sessions, views or the database.
    "buatfilm.middleware.HostileInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns locked-out logins into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "buatfilm.urls"
WSGI_APPLICATION = "buatfilm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "content.context_processors.shop",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A persistent connection the database dropped (restart, failover) is replaced at the start of
# the next request instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing,
    # take the write lock when a transaction starts (a deferred transaction that later writes
    # fails at once with "database is locked"), and let readers run beside the writer (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, but a bulk insert of a few rows is a VALUES list, not UNNEST
    # (buatfilm/postgresql/__init__.py says why).
    DATABASES["default"]["ENGINE"] = "buatfilm.postgresql"
    # Server-side parameters, so psycopg prepares a statement on a connection after it ran
    # DB_PREPARE_THRESHOLD times: PostgreSQL then skips parsing and planning it. The hot paths
    # repeat a handful of statements (the webhook's locked order read spent more time being
    # planned than executed). Behind a transaction-mode pooler that cannot keep prepared
    # statements (PgBouncer before 1.21), set DB_PREPARE_THRESHOLD= (empty: never prepare).
    prepare_threshold = env("DB_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "server_side_binding": True,
            "prepare_threshold": int(prepare_threshold) if prepare_threshold else None,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "id"
TIME_ZONE = "Asia/Jakarta"  # shown to people as WIB; stored in UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

ADMIN_URL = env("ADMIN_URL", default="admin/").strip("/") + "/"

# --- Redis / cache -------------------------------------------------------------------------
# Redis is an optimisation, PostgreSQL the truth (README, "Redis"): with Redis unreachable the
# cache and the rate limits fail open with a warning, a task publish fails fast (the Beat sweeps
# deliver what was not enqueued), and every page and the webhook keep working. Short timeouts so
# a black-holed Redis costs a request at most one of them.
REDIS_URL = env("REDIS_URL", default="")
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "buatfilm.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery --------------------------------------------------------------------------------
CELERY_FILESYSTEM_DIR = VAR_DIR / "celery"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
# A publish from a request tries once, briefly: no kombu reconnect loop (max_retries 0; the
# default retries for CELERY_BROKER_CONNECTION_TIMEOUT) and no publish retry policy (Celery's
# default tries 4 times, ~0.6 s). The worker's own consumer connection keeps retrying.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"max_retries": 0}
REDIS_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "max_retries": 0,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(REDIS_BROKER_TRANSPORT_OPTIONS)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 0,
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=3.0)
# No task runs unbounded: the soft limit raises SoftTimeLimitExceeded inside the task (every
# task is idempotent, the next run or the outbox lease takes over), the hard limit kills the
# pool process. A job handles one batch: OUTBOX_CLAIM_BATCH x provider timeout, or
# RECONCILE_BATCH_SIZE Midtrans lookups, fit well inside.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)

# --- Orders and payments -------------------------------------------------------------------
ORDER_TTL_MINUTES = env.int("ORDER_TTL_MINUTES", default=24 * 60)
REMINDER_AFTER_MINUTES = env.int("REMINDER_AFTER_MINUTES", default=60)
RECONCILE_AFTER_MINUTES = env.int("RECONCILE_AFTER_MINUTES", default=15)
MIDTRANS_SERVER_KEY = env("MIDTRANS_SERVER_KEY", default="")
MIDTRANS_CLIENT_KEY = env("MIDTRANS_CLIENT_KEY", default="")
MIDTRANS_IS_PRODUCTION = env.bool("MIDTRANS_IS_PRODUCTION", default=False)
# Empty = the SDK's own sandbox/production URLs; the simulator sets these in development.
MIDTRANS_SNAP_BASE_URL = env("MIDTRANS_SNAP_BASE_URL", default="")
MIDTRANS_API_BASE_URL = env("MIDTRANS_API_BASE_URL", default="")
MIDTRANS_NOTIFICATION_URL = env(
    "MIDTRANS_NOTIFICATION_URL", default=f"{SITE_URL}/payments/midtrans/notification/"
)
MIDTRANS_CONNECT_TIMEOUT = env.float("MIDTRANS_CONNECT_TIMEOUT", default=3.05)
MIDTRANS_READ_TIMEOUT = env.float("MIDTRANS_READ_TIMEOUT", default=10.0)
MIDTRANS_MAX_RETRIES = env.int("MIDTRANS_MAX_RETRIES", default=2)
# One wall-clock deadline per Midtrans call (connect + reads + retries), below gunicorn's
# --timeout (30 s). The circuit breaker opens after MIDTRANS_BREAKER_FAILURES failed calls in
# MIDTRANS_BREAKER_WINDOW_SECONDS and fails every call at once for
# MIDTRANS_BREAKER_RESET_SECONDS, then lets one probe call through.
MIDTRANS_DEADLINE_SECONDS = env.float("MIDTRANS_DEADLINE_SECONDS", default=15.0)
MIDTRANS_BREAKER_FAILURES = env.int("MIDTRANS_BREAKER_FAILURES", default=5)
MIDTRANS_BREAKER_WINDOW_SECONDS = env.float("MIDTRANS_BREAKER_WINDOW_SECONDS", default=60.0)
MIDTRANS_BREAKER_RESET_SECONDS = env.float("MIDTRANS_BREAKER_RESET_SECONDS", default=30.0)
# The simulator management command refuses to run unless this is true (never in production).
MIDTRANS_SIMULATOR_ENABLED = env.bool("MIDTRANS_SIMULATOR_ENABLED", default=False)

# --- Notifications -------------------------------------------------------------------------
OPS_EMAIL = env("OPS_EMAIL", default="ops@buatfilm.local")
# Optional: the same ops alerts also go to this WhatsApp number (E.164, e.g. +62812…), through
# the outbox and WHATSAPP_BACKEND like customer messages. Empty = email only.
OPS_WHATSAPP = env("OPS_WHATSAPP", default="")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="BuatFilm <halo@buatfilm.local>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="notifications.backends.EmlFileEmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
ANYMAIL = {
    # Only the ESP named by EMAIL_BACKEND reads its keys; the rest stay empty.
    "MAILGUN_API_KEY": env("MAILGUN_API_KEY", default=""),
    "MAILGUN_SENDER_DOMAIN": env("MAILGUN_SENDER_DOMAIN", default=""),
    "POSTMARK_SERVER_TOKEN": env("POSTMARK_SERVER_TOKEN", default=""),
    "SENDGRID_API_KEY": env("SENDGRID_API_KEY", default=""),
    "AMAZON_SES_CLIENT_PARAMS": {},
}
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
WHATSAPP_BACKEND = env("WHATSAPP_BACKEND", default="file")  # "file" or "http"
WHATSAPP_GATEWAY_URL = env("WHATSAPP_GATEWAY_URL", default="")
WHATSAPP_GATEWAY_TOKEN = env("WHATSAPP_GATEWAY_TOKEN", default="")
WHATSAPP_SESSION = env("WHATSAPP_SESSION", default="default")
WHATSAPP_FILE_PATH = env("WHATSAPP_FILE_PATH", default=str(VAR_DIR / "whatsapp"))
WHATSAPP_TIMEOUT = env.float("WHATSAPP_TIMEOUT", default=10.0)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=5)
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=120)
SUPPORT_WHATSAPP_URL = env("SUPPORT_WHATSAPP_URL", default="https://wa.me/6281234567890")

# --- Seller identity (invoice, contact page, footer) ---------------------------------------
SELLER_NAME = env("SELLER_NAME", default="BuatFilm")
SELLER_ADDRESS = env("SELLER_ADDRESS", default="Jakarta, Indonesia")
SELLER_EMAIL = env("SELLER_EMAIL", default="halo@buatfilm.local")
SELLER_PHONE = env("SELLER_PHONE", default="+62 812-3456-7890")
SELLER_TAX_ID = env("SELLER_TAX_ID", default="")  # NPWP; empty = not shown

# --- Course access -------------------------------------------------------------------------
MAGIC_LINK_MAX_AGE_HOURS = env.int("MAGIC_LINK_MAX_AGE_HOURS", default=24)
LOGIN_URL = "courses:login"
# Sessions fit the person (courses.sessions, on every login): customers stay logged in for
# CUSTOMER_SESSION_DAYS, staff (admin) for STAFF_SESSION_HOURS. SESSION_COOKIE_AGE, the age of
# any other session, is the short one.
CUSTOMER_SESSION_DAYS = env.int("CUSTOMER_SESSION_DAYS", default=30)
STAFF_SESSION_HOURS = env.int("STAFF_SESSION_HOURS", default=12)
SESSION_COOKIE_AGE = STAFF_SESSION_HOURS * 60 * 60
# "Buka kursus" on the PAID status page logs the buyer in with one click for this many days
# after payment; later it sends a fresh login link instead.
ONE_CLICK_ACCESS_DAYS = env.int("ONE_CLICK_ACCESS_DAYS", default=7)
# Extra hosts lesson videos may be embedded from (YouTube, Vimeo and Bunny Stream always are).
LESSON_VIDEO_EMBED_HOSTS = env.list("LESSON_VIDEO_EMBED_HOSTS", default=[])

# --- Security ------------------------------------------------------------------------------
SECURE_SSL = env.bool("SECURE_SSL", default=False)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp; buatfilm/csp.py adds the Midtrans Snap origin to
# form-action). No inline script or style: templates reference files in static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        # Lesson videos (courses/video.py): the allow-listed embed hosts and https files.
        "frame-src": [
            "https://www.youtube-nocookie.com",
            "https://player.vimeo.com",
            "https://iframe.mediadelivery.net",
            *(f"https://{host}" for host in LESSON_VIDEO_EMBED_HOSTS),
        ],
        "media-src": ["'self'", "https:"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_VIEW = "buatfilm.views.ratelimited"
# Cache unreachable -> not limited (buatfilm.cache logs the outage); limits resume with Redis.
RATELIMIT_FAIL_OPEN = True
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
# Lock the (username, client IP) pair: someone guessing from one address cannot lock a staff
# member out from everywhere, and one office proxy does not lock out every staff member.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "supportdesk.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Only the admin login is watched; customers log in by magic link and have no password.
AXES_ONLY_ADMIN_SITE = True
# REMOTE_ADDR only unless a trusted proxy is configured (see docs/decisions.md).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Axes asks the same function as the rate limits (django-ipware is not installed).
AXES_CLIENT_IP_CALLABLE = "buatfilm.http.client_ip"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# OpenAPI at /api/schema/, Swagger UI at /api/docs/ (assets from drf-spectacular-sidecar).
SPECTACULAR_SETTINGS = {
    "TITLE": "BuatFilm API",
    "DESCRIPTION": "Packages, order creation (Idempotency-Key) and order status (access key).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PaymentMethodEnum": "orders.models.PaymentMethod",
        "AttemptStatusEnum": "payments.models.AttemptStatus",
    },
}

# --- Observability (docs/operations.md) ----------------------------------------------------
# `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`; empty = open (development only:
# production requires it).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Error reports to Sentry or GlitchTip (buatfilm/sentry.py scrubs secrets and PII); empty = off.
SENTRY_DSN = env("SENTRY_DSN", default="")
# Default: the settings module's name ("production", "local", ...).
SENTRY_ENVIRONMENT = env(
    "SENTRY_ENVIRONMENT",
    default=env("DJANGO_SETTINGS_MODULE", default="production").rpartition(".")[2],
)
SENTRY_RELEASE = env("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# "text" (key=value lines, the development default) or "json" (one object per line, the
# production default): web, worker and beat alike (buatfilm/logging.py).
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "correlation": {"()": "buatfilm.logging.CorrelationIdFilter"},
        "redact": {"()": "buatfilm.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "structured": {
            "format": (
                "%(asctime)s level=%(levelname)s logger=%(name)s order_id=%(order_id)s "
                "request_id=%(request_id)s %(message)s"
            ),
        },
        "json": {"()": "buatfilm.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "structured",
            "filters": ["correlation", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The receipt PDF shares the site's stylesheet: WeasyPrint warns about every modern
        # CSS rule it ignores (media queries, clamp(), ...) on every PDF. Errors still show.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
AXES_VERBOSE = False

# --- Scheduled jobs (seconds between runs; `manage.py setup_schedules` applies them) --------
SCHEDULE_EXPIRE_ORDERS_SECONDS = env.int("SCHEDULE_EXPIRE_ORDERS_SECONDS", default=60)
SCHEDULE_SEND_REMINDERS_SECONDS = env.int("SCHEDULE_SEND_REMINDERS_SECONDS", default=300)
SCHEDULE_RECONCILE_PAYMENTS_SECONDS = env.int("SCHEDULE_RECONCILE_PAYMENTS_SECONDS", default=600)
SCHEDULE_DISPATCH_OUTBOX_SECONDS = env.int("SCHEDULE_DISPATCH_OUTBOX_SECONDS", default=60)
SCHEDULE_REFRESH_DAILY_STATS_SECONDS = env.int("SCHEDULE_REFRESH_DAILY_STATS_SECONDS", default=3600)
SCHEDULE_RESOLVE_STUCK_ATTEMPTS_SECONDS = env.int(
    "SCHEDULE_RESOLVE_STUCK_ATTEMPTS_SECONDS", default=120
)

# --- Midtrans webhook, reconciliation, customer login (payments + courses) -------------------
# CIDRs allowed to post notifications, e.g. "103.208.23.0/24,103.127.16.0/23"; empty = any
# source (the signature is what authenticates a notification; this is defence in depth).
MIDTRANS_ALLOWED_NETWORKS = env.list("MIDTRANS_ALLOWED_NETWORKS", default=[])
# django-ratelimit rates, per client IP. Every webhook request counts against the first; only
# invalid-signature requests count against the second, and beyond it they still get 403 but
# write no audit row, so a flood of forged notifications cannot fill the database.
MIDTRANS_WEBHOOK_RATE_LIMIT = env("MIDTRANS_WEBHOOK_RATE_LIMIT", default="600/m")
MIDTRANS_INVALID_SIGNATURE_AUDIT_RATE = env("MIDTRANS_INVALID_SIGNATURE_AUDIT_RATE", default="20/m")
# Reconciliation looks back this far for EXPIRED/FAILED orders (late settlements). Per run it
# asks Midtrans about at most RECONCILE_BATCH_SIZE pending orders first, then at most
# RECONCILE_RECENT_BATCH_SIZE recently closed ones; each group rotates (least recently asked
# first), so with N candidates in a group each is asked within ceil(N / budget) runs.
RECONCILE_RECENT_HOURS = env.int("RECONCILE_RECENT_HOURS", default=48)
RECONCILE_BATCH_SIZE = env.int("RECONCILE_BATCH_SIZE", default=200)
RECONCILE_RECENT_BATCH_SIZE = env.int("RECONCILE_RECENT_BATCH_SIZE", default=100)
# No Snap transaction starts with less time than this before the order expires: Snap's
# documented minimum session (https://docs.midtrans.com/reference/expire-a-snap-session), and
# a VA transfer needs a few minutes to clear. The customer is offered a new, prefilled order.
SNAP_MIN_EXPIRY_MINUTES = env.int("SNAP_MIN_EXPIRY_MINUTES", default=5)
# "Send me a login link": per client IP (over it: 429 page) and per email address (over it: the
# same "check your inbox" answer, but no email is sent, so nobody can flood an inbox).
LOGIN_LINK_RATE_PER_IP = env("LOGIN_LINK_RATE_PER_IP", default="10/h")
LOGIN_LINK_RATE_PER_EMAIL = env("LOGIN_LINK_RATE_PER_EMAIL", default="3/h")

# --- Outbox delivery (notifications) -------------------------------------------------------
# Retry n waits uniform(0, min(MAX, BASE * 2**(n-1))) seconds (full jitter), at least 1 s.
OUTBOX_BACKOFF_BASE_SECONDS = env.int("OUTBOX_BACKOFF_BASE_SECONDS", default=60)
OUTBOX_BACKOFF_MAX_SECONDS = env.int("OUTBOX_BACKOFF_MAX_SECONDS", default=3600)
# Rows leased per claim by the sweep. A sweep holds at most two batches leased and unsent,
# sent OUTBOX_SEND_CONCURRENCY at a time: keep 2 x ceil(BATCH / CONCURRENCY) x (EMAIL_TIMEOUT
# or WHATSAPP_TIMEOUT) below OUTBOX_LEASE_SECONDS (20, 4, 10 s: 100 s < 120 s) so no batch
# outlives its leases. Fewer, larger claims: one claim (4 statements) per 20 rows, not per 10.
OUTBOX_CLAIM_BATCH = env.int("OUTBOX_CLAIM_BATCH", default=20)
# Rows of a batch sent side by side by one sweep (threads, each with its own database
# connection: up to this many more connections per worker process). 1 = one after another.
OUTBOX_SEND_CONCURRENCY = env.int("OUTBOX_SEND_CONCURRENCY", default=4)
# HTTP ESPs (Mailgun, Postmark, SendGrid, ...) time out like SMTP does; SES goes through boto3.
ANYMAIL["REQUESTS_TIMEOUT"] = EMAIL_TIMEOUT
ANYMAIL["AMAZON_SES_CLIENT_PARAMS"] = {
    "config": {"connect_timeout": EMAIL_TIMEOUT, "read_timeout": EMAIL_TIMEOUT}
}

# --- Staff admin: two-factor login and sessions (supportdesk) ------------------------------
# django-otp: staff register a TOTP device (or static backup codes) in the admin; with
# STAFF_OTP_REQUIRED=true the admin login asks for the code and admits only verified sessions.
# Off by default so `createsuperuser` + `make run` works; turn it on in production once every
# staff member has a device (see README / docs/decisions.md).
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="BuatFilm")

if SENTRY_DSN:
    from buatfilm.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
