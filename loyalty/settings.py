"""Fanbase settings: everything comes from the environment.

The defaults run on a laptop with nothing installed (SQLite, Celery over kombu's
filesystem transport under ``var/``, a file-based cache there). Production and CI set
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``REDIS_URL``. A malformed value stops
the process at start with a message that names the variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from loyalty.env import (
    LOG_LEVELS,
    env_bool,
    env_choice,
    env_hosts,
    env_int,
    env_origins,
    env_rate,
    env_str,
    env_url,
)
from loyalty.schedule import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FANBASE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)

# Required outside DEBUG, and enforced where it matters: the web server refuses to
# start without it (loyalty/wsgi.py) and `check --deploy` fails. Tooling that never
# signs anything (schema generation, migrations, checks) may load the settings without.
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "django-insecure-fanbase-local-development-only"

ALLOWED_HOSTS = env_hosts("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "loyalty.dashboard.admin_apps.DashboardAdminConfig",  # the admin, its index the merchant dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_celery_beat",
    "axes",
    "django_prometheus",
    "core",  # the transactional outbox (core.outbox); no other model
    "members",
    "storefront",
    "coupons",
    "loyalty",
]

MIDDLEWARE = [
    # /metrics is answered here, for loopback callers only, before anything else
    # (host checks, the HTTPS redirect) sees it: see loyalty/metrics.py.
    "loyalty.metrics.metrics_endpoint",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A database that cannot serve is a 503 in the error shape, never a 500 (core.db).
    "core.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it answers a locked-out admin login with a 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loyalty.urls"
WSGI_APPLICATION = "loyalty.wsgi.application"
# The contract's paths have no trailing slash and also answer with one; the URL
# patterns register both, so redirects (which would drop a POST body) are never needed.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------

DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
try:
    _database = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from None
if _database["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that asks the socket, not the server: no
    # `SELECT 1` round trip before each request's first statement (core/postgresql).
    _database["ENGINE"] = "core.postgresql"
if _database["ENGINE"] != "django.db.backends.sqlite3":
    # A database that does not answer fails the request in seconds (a 503), never hangs it.
    _database.setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
    )
    # PostgreSQL's JIT compiles any statement its planner costs high, and the chunked
    # jobs' statements over 50,000 follows are costed high: 350 ms of compiling for a
    # statement that runs in 2 s, on every chunk (docs/performance.md, "JIT"). Nothing
    # here is an analytic query that JIT would pay back, so it is off unless DB_JIT=1.
    if not env_bool("DB_JIT", False):
        _database["OPTIONS"].setdefault("options", "-c jit=off")
    # Parameters bound by the server, and a statement that a connection has run
    # DB_PREPARE_THRESHOLD times kept prepared: PostgreSQL then neither parses nor plans
    # it again. An order's member row spent 0.9 ms planning for 0.15 ms of executing;
    # prepared, an order's statements take 2 ms of wall time instead of 5
    # (docs/performance.md, "Prepared statements"). DB_PREPARE_THRESHOLD=0 turns it off
    # (a connection pooler that cannot keep prepared statements, e.g. PgBouncer before
    # 1.21 in transaction mode).
    _database["OPTIONS"]["server_side_binding"] = True
    _prepare_threshold = env_int("DB_PREPARE_THRESHOLD", 5, minimum=0)
    _database["OPTIONS"]["prepare_threshold"] = _prepare_threshold or None
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # The web, worker and beat processes share one file: WAL lets readers run beside
    # a writer, and IMMEDIATE transactions queue writers instead of failing them.
    _database["CONN_MAX_AGE"] = 0
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, schemes={"redis", "rediss", "unix"})
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by every process of the machine (gunicorn runs several): the auth throttle
    # counts a client's requests once, whichever process answers them.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }

# --- Auth --------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The admin login is guarded against brute force by django-axes: ADMIN_LOGIN_FAILURE_LIMIT
# failed logins from one client address lock that address out of the admin login for
# ADMIN_LOCKOUT_MINUTES (a 429), whichever usernames it tried; a success resets the
# count. Locking by address, not by username, means an attacker cannot lock a staff
# member out from elsewhere. `manage.py axes_reset` (or the admin's "access attempts")
# lifts a lockout. The client address is the one the API throttles use (NUM_PROXIES).
# API logins (POST /api/v1/auth/token) are limited by the auth throttle instead.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_ONLY_ADMIN_SITE = True
AXES_CLIENT_IP_CALLABLE = "members.auth_backends.client_address"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Outbound webhooks (docs/webhooks.md) -----------------------------------------
# Plain http:// endpoints only with DEBUG (or when set); private, loopback and
# link-local addresses never, unless set (a receiver on the same network, tests).
WEBHOOKS_ALLOW_HTTP = env_bool("WEBHOOKS_ALLOW_HTTP", default=DEBUG)
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOKS_TIMEOUT_SECONDS = env_int("WEBHOOKS_TIMEOUT_SECONDS", 5, minimum=1)

# --- Security (production defaults; DEBUG relaxes nothing here) ----------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- REST framework ----------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CursorPage",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_rate("AUTH_THROTTLE_RATE", "20/min"),
    },
    "UNAUTHENTICATED_USER": None,
    # Who a client is, for the throttles: with 0, the connection's address; behind N
    # proxies, the address the Nth proxy from us saw. Never the client's own
    # X-Forwarded-For, which anyone can rotate to escape the auth throttle.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
    "COERCE_DECIMAL_TO_STRING": True,
}

DRF_STANDARDIZED_ERRORS = {"ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": False}

REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": None,  # shopper apps keep a session until logout or revocation
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": env_int("SHOPPER_TOKEN_LIMIT", 20, minimum=1),
}

API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"

API_DESCRIPTION = """Membership, points, iron fans and coupons for short-video commerce merchants.

**Two callers.** A merchant's shop system calls `/api/v1/merchant/...` with
`Authorization: Api-Key <key>`; a shopper app calls `/api/v1/me/...` with
`Authorization: Token <token>` from `POST /api/v1/auth/token`. The other kind of
credential is a 401 `wrong_credential_kind` whose `WWW-Authenticate` names the scheme.

**JSON as the schema says.** Money is a decimal string (`"12.50"`: digits and a point, no
exponent or `_`); integers and booleans are JSON integers and booleans, not strings.
Times are ISO 8601 in UTC (`2026-12-01T10:00:00Z`).

**Errors** have one shape, `{"type", "errors": [{"code", "detail", "attr"}]}`; every
operation lists the codes it can answer with. `code` is stable; `attr` names the field
at fault (`lines.0.sku`), or is null. A refused request writes nothing.

**Lists** are pages `{"next", "previous", "results"}`, newest first unless said; follow
`next` (an opaque, signed `cursor`); `page_size` from 1 to 200, 50 by default.

**Retries.** Orders and refunds are idempotent by their `external_id`; joining,
following, leaving and unfollowing answer the same when repeated.
"""

SPECTACULAR_SETTINGS = {
    "TITLE": "Fanbase API",
    "DESCRIPTION": API_DESCRIPTION,
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["core.routing.drop_trailing_slash_twins"],
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        # Several answers have a "status"; each choice set gets its own stable name.
        "CampaignRunStatusEnum": "coupons.models.CampaignRun.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        # drf-spectacular has no argument for a response's links: one table adds them.
        "loyalty.openapi_links.add_links",
    ],
}

# --- Celery ------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    "filesystem://localhost//",
    schemes={"filesystem", "redis", "rediss", "amqp", "memory"},
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Every folder is named: kombu's defaults are relative to the current directory.
    # The control folder holds the exchange tables that `celery inspect` and other
    # broadcasts use. Workers poll the folder; a short interval picks tasks up quickly.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.25,
    }
else:
    # Redis redelivers a task not acknowledged within the visibility timeout (tasks ack
    # late). One hour is far above the longest task: a campaign chunk is one transaction
    # of 5,000 coupons (about a second), a campaign start splits a million shoppers
    # in seconds. A task whose worker vanished comes back after it; a campaign run can be
    # resumed sooner (docs/campaigns.md).
    # CELERY_VISIBILITY_TIMEOUT shortens it where a test kills workers on purpose.
    VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
    # The timeout only makes a task due: a running worker hands it out again at its next
    # sweep of the unacknowledged set. kombu sweeps once when a worker starts, then every
    # `unacked_restore_interval` (10 s) but scans only on every
    # `unacked_restore_throttle`-th (10th) sweep: about 100 s between scans, which a
    # worker started before the task was due waited too. Here every sweep scans (one
    # ZRANGE under a lock, per worker), every 10 s or a third of a shorter timeout: a
    # lost task is back within the timeout plus that (docs/faults.md).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "unacked_restore_interval": max(1, min(10, VISIBILITY_TIMEOUT // 3)),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Jobs register their schedule here as they arrive; DatabaseScheduler copies it into
# django-celery-beat's tables, where an operator can pause or retime an entry.
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE

HEALTHZ_BROKER_TIMEOUT = env_int("HEALTHZ_BROKER_TIMEOUT", 2, minimum=1)
# Days engagement events are kept; scores never need older ones (docs/iron-fans.md).
ENGAGEMENT_RETENTION_DAYS = env_int("ENGAGEMENT_RETENTION_DAYS", 90, minimum=31)

# LOG_FORMAT=json: one JSON object a line (python-json-logger), with the record's
# time, level, logger and message and any `extra` fields, for a log shipper; plain
# text otherwise. Credentials never reach a log: no code logs a header, and requests
# are logged by path (tests/test_secrets.py runs requests at DEBUG and greps the logs).
LOG_FORMAT = env_choice("LOG_FORMAT", "PLAIN", choices=["PLAIN", "JSON"]).lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", choices=LOG_LEVELS)},
    # django-axes says hello at every start and logs each failed login at INFO; its
    # lockouts are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Storefront ----------------------------------------------------------------

# The home-page feed shows products published within this many days.
FEED_WINDOW_DAYS = env_int("FEED_WINDOW_DAYS", 30, minimum=1)
