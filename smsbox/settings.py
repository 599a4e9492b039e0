"""smsbox settings: every value comes from the environment through one django-environ Env.

With nothing configured smsbox runs on embedded defaults under ``var/``: SQLite in WAL mode,
a file-system Celery broker, a file cache and a generated secret key. ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL and Redis. See the configuration table in README.md.
"""

import re
import secrets
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, *, default: bool) -> bool:
    """A boolean, parsed strictly: a typo such as ``ture`` stops the start-up."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw not in _TRUE | _FALSE:
        raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")
    return raw in _TRUE


VAR_DIR = Path(env.str("SMSBOX_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", default=True)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "smsbox",
    "wallets",
    "apikeys",
    "providers",
    "rentals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "smsbox.failures.ApiErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "smsbox.urls"
WSGI_APPLICATION = "smsbox.wsgi.application"
ASGI_APPLICATION = "smsbox.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_URL = f"sqlite:///{VAR_DIR / 'smsbox.sqlite3'}"
DATABASES = {"default": env.db_url("DATABASE_URL", default=SQLITE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A health check is one more round trip (SELECT 1) before each request's first query.
    DATABASES["default"].setdefault(
        "CONN_HEALTH_CHECKS", env_bool("CONN_HEALTH_CHECKS", default=True)
    )
# The purchase path's hand-written statements prepared once per connection
# (smsbox.instances.bound_cursor; Django's own queries are never prepared). False behind a
# pooler in transaction mode that does not keep prepared statements (PgBouncer before 1.21).
SMSBOX_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker -----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds a Redis call (cache, rate limit, broker publish) may take before Redis counts as
# unreachable; then it is not tried again for SMSBOX_REDIS_RETRY_SECONDS and smsbox runs without
# it (smsbox/cache.py: the cache answers as empty, the key check reads PostgreSQL, the rate
# limit fails open, tasks wait in the DeferredTask outbox).
SMSBOX_REDIS_TIMEOUT = env.float("SMSBOX_REDIS_TIMEOUT", default=1.0)
SMSBOX_REDIS_RETRY_SECONDS = env.float("SMSBOX_REDIS_RETRY_SECONDS", default=2.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "smsbox.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_timeout": SMSBOX_REDIS_TIMEOUT,
                "socket_connect_timeout": SMSBOX_REDIS_TIMEOUT,
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # A publish to a paused broker gives up instead of hanging the request (its task then
    # waits in the outbox); longer than a worker's BRPOP wait (1 s), which uses the same option.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "socket_timeout": max(SMSBOX_REDIS_TIMEOUT, 5.0),
        "socket_connect_timeout": SMSBOX_REDIS_TIMEOUT,
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

# --- Celery -----------------------------------------------------------------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
# Two queues: "celery" for the money jobs (purchases, expiry, refunds, renewals,
# reconciliation, polling) and "webhooks" for customer webhook deliveries, each with its own
# worker (Procfile), so a slow customer URL never holds a worker the money jobs need.
CELERY_TASK_DEFAULT_QUEUE = "celery"
WEBHOOK_QUEUE = "webhooks"
CELERY_TASK_ROUTES = {
    "rentals.tasks.webhook_deliver": {"queue": WEBHOOK_QUEUE},
    "rentals.tasks.webhooks_retry_due": {"queue": WEBHOOK_QUEUE},
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "smsbox.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Only strictly necessary cookies: the session and the CSRF token, both first-party.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# Sessions are kept in PostgreSQL and read through the cache (the dashboard polls My Numbers every
# few seconds); a session ends when the user's password or session epoch changes, checked against
# the user row on every request, so a cached copy never outlives a logout elsewhere.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- I18N / static ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise looks there too, and warns when it is missing
# Vendored front-end libraries (static/vendor/) and the dashboard's own files; no CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files under gunicorn too; it finds them where they live, so no
# collectstatic step is needed (running it into STATIC_ROOT works as well).
WHITENOISE_USE_FINDERS = True

# --- E-mail -----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="smsbox <noreply@localhost>")

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apikeys.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "apikeys.throttling.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "smsbox.api.Pagination",
    "DEFAULT_THROTTLE_CLASSES": ["apikeys.throttling.AccountRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "smsbox.api.JsonNegotiation",
    "URL_FORMAT_OVERRIDE": None,  # ?format= is the record link's own parameter
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS: 405, the schema documents the API
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "smsbox API",
    "DESCRIPTION": "Temporary phone numbers for SMS verification: activations and rentals.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rentals.api.links.add_links",  # OpenAPI links: create → get / cancel / finish / …
    ],
}

# --- Rate limits (apikeys/throttling.py) -------------------------------------------------------
# Requests per second per account: standard tier, and business tier (empty = unlimited).
SMSBOX_RATE_LIMIT_STANDARD = env.int("SMSBOX_RATE_LIMIT_STANDARD", default=32)
SMSBOX_RATE_LIMIT_BUSINESS = env.int("SMSBOX_RATE_LIMIT_BUSINESS", default=None)
# More failed requests than this in one second block the account (any tier) for a while.
SMSBOX_FAILED_LIMIT = env.int("SMSBOX_FAILED_LIMIT", default=300)
SMSBOX_FAILED_BLOCK_SECONDS = env.int("SMSBOX_FAILED_BLOCK_SECONDS", default=60)
# Seconds a client is told to wait (Retry-After) when the database is unreachable (503).
SMSBOX_RETRY_AFTER_SECONDS = env.int("SMSBOX_RETRY_AFTER_SECONDS", default=5)
# While Redis is unreachable the rate limit fails open (logged, counted); true refuses instead.
SMSBOX_RATE_LIMIT_FAIL_CLOSED = env_bool("SMSBOX_RATE_LIMIT_FAIL_CLOSED", default=False)
# Login tokens for the API-key endpoints (POST /api/v1/auth/token) live this many seconds.
SMSBOX_LOGIN_TOKEN_SECONDS = env.int("SMSBOX_LOGIN_TOKEN_SECONDS", default=900)
# The API-key check is cached this many seconds (revoke and regenerate clear it at once).
SMSBOX_API_KEY_CACHE_SECONDS = env.int("SMSBOX_API_KEY_CACHE_SECONDS", default=30)
# What clients poll of an activation is copied to Redis for this many seconds at most; every
# change drops the copy at once (rentals/activation_cache.py), so this only bounds a lost drop.
SMSBOX_ACTIVATION_CACHE_SECONDS = env.int("SMSBOX_ACTIVATION_CACHE_SECONDS", default=30)
# The signed-in user's row is copied to Redis for this many seconds at most; every change drops
# the copy at once (smsbox/auth_backends.py), so this only bounds a lost drop.
SMSBOX_USER_CACHE_SECONDS = env.int("SMSBOX_USER_CACHE_SECONDS", default=30)

# --- smsbox -----------------------------------------------------------------------------------
SMSBOX_CURRENCY = env.str("SMSBOX_CURRENCY", default="USD")
SMSBOX_CURRENCY_NUMERIC = env.int("SMSBOX_CURRENCY_NUMERIC", default=840)
SMSBOX_ADMIN_PASSWORD = env.str("SMSBOX_ADMIN_PASSWORD", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# last_activity_at is written at most once per this many seconds per user.
SMSBOX_ACTIVITY_WRITE_INTERVAL = env.int("SMSBOX_ACTIVITY_WRITE_INTERVAL", default=300)

# Customer webhooks: refuse URLs that resolve to private, loopback, link-local, multicast,
# reserved or unspecified addresses unless this is on (local development and tests only).
SMSBOX_WEBHOOK_ALLOW_PRIVATE = env_bool("SMSBOX_WEBHOOK_ALLOW_PRIVATE", default=False)
# Seconds a customer webhook delivery waits to connect, and for each read of the answer.
SMSBOX_WEBHOOK_CONNECT_TIMEOUT = env.float("SMSBOX_WEBHOOK_CONNECT_TIMEOUT", default=3.0)
SMSBOX_WEBHOOK_READ_TIMEOUT = env.float("SMSBOX_WEBHOOK_READ_TIMEOUT", default=5.0)


# Regexes that find the code in an SMS text, tried in order (first match wins); empty means the
# built-in list in rentals/codes.py. Separated by ";;" (so a pattern may hold commas, as in
# [0-9]{4,8}). A named group "code" (or group 1) marks the code. Checked at start-up.
def _code_patterns() -> list[str]:
    raw = env.str("SMSBOX_CODE_PATTERNS", default="")
    patterns = [pattern.strip() for pattern in raw.split(";;") if pattern.strip()]
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ImproperlyConfigured(
                f"SMSBOX_CODE_PATTERNS: the pattern {pattern!r} is invalid: {exc}"
            ) from exc
    return patterns


SMSBOX_CODE_PATTERNS = _code_patterns()

# --- Accounts and background work -------------------------------------------------------------
# Session-authenticated dashboard use counts as activity (API use is recorded by the API-key
# authentication class).
MIDDLEWARE = [*MIDDLEWARE, "smsbox.middleware.ActivityMiddleware"]

# Flash messages live in the session: no cookie besides the session and CSRF ones.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Absolute links in e-mails sent from background jobs (no request to build them from).
SMSBOX_SITE_URL = env.str("SMSBOX_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Unverified accounts are deleted this many days after sign-up.
SMSBOX_UNVERIFIED_ACCOUNT_DAYS = env.int("SMSBOX_UNVERIFIED_ACCOUNT_DAYS", default=7)
# The e-mail verification link expires after this many hours (a new one can be requested).
SMSBOX_VERIFICATION_LINK_HOURS = env.int("SMSBOX_VERIFICATION_LINK_HOURS", default=48)
# Verified accounts are deleted after this many days without activity ...
SMSBOX_INACTIVE_ACCOUNT_DAYS = env.int("SMSBOX_INACTIVE_ACCOUNT_DAYS", default=365)
# ... after inactivity notices sent this many days before the deletion (each one once).
SMSBOX_INACTIVITY_NOTICE_DAYS = [
    int(days) for days in env.list("SMSBOX_INACTIVITY_NOTICE_DAYS", default=["30", "7"])
]
# Rows a sweep claims per batch (memory stays constant whatever the table size).
SMSBOX_JOB_BATCH_SIZE = env.int("SMSBOX_JOB_BATCH_SIZE", default=200)
# Due activations the expiry sweep settles per transaction (row locks held meanwhile).
SMSBOX_EXPIRY_BATCH_SIZE = env.int("SMSBOX_EXPIRY_BATCH_SIZE", default=100)
# Job history (admin: Job runs) is kept this many days.
SMSBOX_JOB_HISTORY_DAYS = env.int("SMSBOX_JOB_HISTORY_DAYS", default=30)

# Every smsbox task is idempotent (it re-fetches and re-checks state), so a task is acknowledged
# only once it has finished: a worker lost mid-task means a redelivery, not a lost job.
CELERY_TASK_ACKS_LATE = env_bool("CELERY_TASK_ACKS_LATE", default=True)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
if REDIS_URL:
    # Unacknowledged tasks come back after this long; longer than any task's time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env.int(
        "CELERY_VISIBILITY_TIMEOUT", default=3600
    )

# The file-based e-mail backend (EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend)
# writes here.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))

# Circuit breaker of each upstream provider: open after this many consecutive failures, then
# skipped for this many seconds before one trial call.
SMSBOX_BREAKER_FAILURES = env.int("SMSBOX_BREAKER_FAILURES", default=5)
SMSBOX_BREAKER_COOLDOWN = env.int("SMSBOX_BREAKER_COOLDOWN", default=60)

# --- Activations (rentals/services/activations.py) --------------------------------------------
# An activation waits this many seconds for its SMS; with no SMS it then expires and is refunded.
SMSBOX_ACTIVATION_TTL = env.int("SMSBOX_ACTIVATION_TTL", default=1200)
# Cancelling (or finishing without a code) is refused this many seconds after the purchase.
SMSBOX_EARLY_CANCEL_SECONDS = env.int("SMSBOX_EARLY_CANCEL_SECONDS", default=120)
# Seconds between two requests for another code on one activation.
SMSBOX_RESEND_COOLDOWN_SECONDS = env.int("SMSBOX_RESEND_COOLDOWN_SECONDS", default=60)
# A completed number can be bought again for the same service this many seconds after its
# purchase (where the upstream supports it).
SMSBOX_REUSE_WINDOW_SECONDS = env.int("SMSBOX_REUSE_WINDOW_SECONDS", default=1200)
# A purchase still "processing" after this many seconds was left by a crash: reconciliation
# settles it. Longer than the router can take with every provider timing out.
SMSBOX_PROCESSING_STALE_SECONDS = env.int("SMSBOX_PROCESSING_STALE_SECONDS", default=300)
# A purchase of unknown outcome is reconciled against the upstream after this many seconds.
SMSBOX_RECONCILE_AFTER_SECONDS = env.int("SMSBOX_RECONCILE_AFTER_SECONDS", default=30)
# An upstream order no activation or rental holds is cancelled upstream by the audit once it is
# this many seconds old (purchases in flight and reconciliation come first).
SMSBOX_ORPHAN_GRACE_SECONDS = env.int("SMSBOX_ORPHAN_GRACE_SECONDS", default=600)
# Spend policy defaults per tier (a customer's own policy overrides them; empty = no limit).
SMSBOX_MAX_PRICE_STANDARD = env.get_value("SMSBOX_MAX_PRICE_STANDARD", cast=Decimal, default=None)
SMSBOX_MAX_PRICE_BUSINESS = env.get_value("SMSBOX_MAX_PRICE_BUSINESS", cast=Decimal, default=None)
SMSBOX_DAILY_CAP_STANDARD = env.get_value("SMSBOX_DAILY_CAP_STANDARD", cast=Decimal, default=None)
SMSBOX_DAILY_CAP_BUSINESS = env.get_value("SMSBOX_DAILY_CAP_BUSINESS", cast=Decimal, default=None)
SMSBOX_MAX_CONCURRENT_STANDARD = env.int("SMSBOX_MAX_CONCURRENT_STANDARD", default=100)
SMSBOX_MAX_CONCURRENT_BUSINESS = env.int("SMSBOX_MAX_CONCURRENT_BUSINESS", default=None)

# Long-term rentals: hours a rental may be bought or extended for (days count 24 hours; the
# packages 1m/3m/6m/1y are 30/90/180/365 days), the cancel window (full refund before any SMS)
# and how long before the expiry auto-renew charges the renewal (retried until the expiry).
SMSBOX_RENTAL_MIN_HOURS = env.int("SMSBOX_RENTAL_MIN_HOURS", default=4)
SMSBOX_RENTAL_MAX_HOURS = env.int("SMSBOX_RENTAL_MAX_HOURS", default=1344)
SMSBOX_RENTAL_CANCEL_MINUTES = env.int("SMSBOX_RENTAL_CANCEL_MINUTES", default=20)
SMSBOX_RENTAL_RENEW_LEAD_MINUTES = env.int("SMSBOX_RENTAL_RENEW_LEAD_MINUTES", default=60)
# The number of an ended rental may be ordered again (continueRentNumber) this many days after
# its end, where its upstream can; 0 turns re-ordering off. The upstream has the last word.
SMSBOX_RENTAL_REORDER_DAYS = env.int("SMSBOX_RENTAL_REORDER_DAYS", default=7)

# --- Top-ups through payment processors (wallets/processors) ------------------------------------
# Limits of one top-up in the installation's currency; an optional bonus on a customer's first
# paid top-up (its own ledger kind, 0 = off); the sandbox processor (no real money) is refused
# unless DEBUG is on or SMSBOX_SANDBOX_PAYMENTS is true; open invoices are asked about again
# after this many seconds, for this many hours after their creation.
SMSBOX_TOPUP_MIN = env.get_value("SMSBOX_TOPUP_MIN", cast=Decimal, default=Decimal("1"))
SMSBOX_TOPUP_MAX = env.get_value("SMSBOX_TOPUP_MAX", cast=Decimal, default=Decimal("5000"))
SMSBOX_TOPUP_FIRST_BONUS_PERCENT = env.get_value(
    "SMSBOX_TOPUP_FIRST_BONUS_PERCENT", cast=Decimal, default=Decimal("0")
)
SMSBOX_SANDBOX_PAYMENTS = env_bool("SMSBOX_SANDBOX_PAYMENTS", default=False)
SMSBOX_TOPUP_RECONCILE_SECONDS = env.int("SMSBOX_TOPUP_RECONCILE_SECONDS", default=60)
SMSBOX_TOPUP_RECONCILE_HOURS = env.int("SMSBOX_TOPUP_RECONCILE_HOURS", default=48)

# --- Customer dashboard -----------------------------------------------------------------------
# English and Russian, chosen from Accept-Language (no language cookie is ever set); the compiled
# catalogs are committed under locale/ (`make messages` rebuilds them).
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
    "django.middleware.locale.LocaleMiddleware",
)
# Dashboard pages allow scripts, styles and requests of smsbox's own origin only.
MIDDLEWARE.append("smsbox.middleware.ContentSecurityPolicyMiddleware")
TEMPLATES[0]["OPTIONS"]["context_processors"] += [
    "django.template.context_processors.i18n",
    "wallets.context_processors.balance",
]
# Rows per page of the dashboard's history, ledger and delivery log.
SMSBOX_DASHBOARD_PAGE_SIZE = env.int("SMSBOX_DASHBOARD_PAGE_SIZE", default=25)
# My Numbers asks for changes this often (milliseconds) while an order is open.
SMSBOX_DASHBOARD_POLL_MS = env.int("SMSBOX_DASHBOARD_POLL_MS", default=2000)
# The version of a customer's open orders that the poll compares is kept this many seconds at
# most in Redis; every change drops it at once (rentals/orders_version.py), so this only bounds
# a lost drop.
SMSBOX_DASHBOARD_VERSION_SECONDS = env.int("SMSBOX_DASHBOARD_VERSION_SECONDS", default=30)
# The link that confirms a new e-mail address expires after this many hours.
SMSBOX_EMAIL_CHANGE_LINK_HOURS = env.int("SMSBOX_EMAIL_CHANGE_LINK_HOURS", default=48)

# --- Back office (rentals/backoffice, wallets/adjustments; README "Operators") ----------------
# Support adjusts a balance by at most this much per action; above the threshold an adjustment
# waits for a second operator's approval (maker-checker).
SMSBOX_SUPPORT_ADJUST_LIMIT = env.get_value(
    "SMSBOX_SUPPORT_ADJUST_LIMIT", cast=Decimal, default=Decimal("20")
)
SMSBOX_FOUR_EYES_THRESHOLD = env.get_value(
    "SMSBOX_FOUR_EYES_THRESHOLD", cast=Decimal, default=Decimal("100")
)
# Operator alerts by e-mail (each once per episode, recorded in the job history).
SMSBOX_ALERT_EMAILS = env.list("SMSBOX_ALERT_EMAILS", default=[])
SMSBOX_ALERT_RUNWAY_HOURS = env.int("SMSBOX_ALERT_RUNWAY_HOURS", default=24)
SMSBOX_ALERT_SUCCESS_RATE = env.get_value(
    "SMSBOX_ALERT_SUCCESS_RATE", cast=Decimal, default=Decimal("0.5")
)
SMSBOX_ALERT_BREAKER_MINUTES = env.int("SMSBOX_ALERT_BREAKER_MINUTES", default=10)
# Abuse rule: off unless a rate is set; purchases of an account under the rate after the
# minimum of orders in a day are suspended.
SMSBOX_ABUSE_SUCCESS_RATE = env.get_value("SMSBOX_ABUSE_SUCCESS_RATE", cast=Decimal, default=None)
SMSBOX_ABUSE_MIN_ORDERS = env.int("SMSBOX_ABUSE_MIN_ORDERS", default=20)
# Staff security, on by default in production: TOTP two-factor on the admin (django-otp),
# login lockout (django-axes), staff sessions ending after inactivity (0 = never).
SMSBOX_STAFF_2FA = env_bool("SMSBOX_STAFF_2FA", default=not DEBUG)
SMSBOX_STAFF_LOCKOUT = env_bool("SMSBOX_STAFF_LOCKOUT", default=not DEBUG)
SMSBOX_STAFF_SESSION_MINUTES = env.int("SMSBOX_STAFF_SESSION_MINUTES", default=0 if DEBUG else 30)
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "axes"]
_after_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
MIDDLEWARE = [
    *MIDDLEWARE[:_after_auth],
    "django_otp.middleware.OTPMiddleware",
    *MIDDLEWARE[_after_auth:],
    "smsbox.middleware.BlockedAccountMiddleware",
    "smsbox.middleware.StaffSessionMiddleware",
    "axes.middleware.AxesMiddleware",
]
# Requests of client programs (the REST API, the record link, the handler protocol, the client
# dialects: API keys, no browser) pass through SMSBOX_API_MIDDLEWARE alone
# (smsbox.middleware.ApiMiddleware): the browser's middleware (static files, sessions, CSRF,
# login, two-factor, messages, htmx, the dashboard's language and checks) has nothing to do
# for them. They answer in LANGUAGE_CODE, whatever Accept-Language says.
SMSBOX_API_PATHS = ("/api/v1/", "/api/sms/", "/stubs/handler_api", "/smspool/", "/5sim/")
_BROWSER_ONLY = {
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "smsbox.middleware.ActivityMiddleware",
    "smsbox.middleware.ContentSecurityPolicyMiddleware",
    "smsbox.middleware.BlockedAccountMiddleware",
    "smsbox.middleware.StaffSessionMiddleware",
}
SMSBOX_API_MIDDLEWARE = [name for name in MIDDLEWARE if name not in _BROWSER_ONLY]
MIDDLEWARE = ["smsbox.middleware.ApiMiddleware", *MIDDLEWARE]
AXES_ENABLED = SMSBOX_STAFF_LOCKOUT
AXES_FAILURE_LIMIT = env.int("SMSBOX_STAFF_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = env.int("SMSBOX_STAFF_LOCKOUT_HOURS", default=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Both login forms (the admin's and the dashboard's) post the e-mail as "username" and pass it
# to authenticate() as such; axes would otherwise read USERNAME_FIELD ("email"), find no
# username and never lock anyone out.
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
SILENCED_SYSTEM_CHECKS = [] if SMSBOX_STAFF_LOCKOUT else ["axes.W003"]  # its backend is off
# Django's ModelBackend, reading each signed-in request's user from a Redis copy of their row.
AUTHENTICATION_BACKENDS = ["smsbox.auth_backends.UserBackend"]
if SMSBOX_STAFF_LOCKOUT:
    AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
OTP_TOTP_ISSUER = "smsbox"
