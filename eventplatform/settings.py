"""Settings for the event platform, read from the environment with working defaults.

See the README's "Configuration" section for every variable.
"""

import os
import sys
from pathlib import Path

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


TESTING = "pytest" in sys.modules
# Processes that keep their database connections (below): django-q2's cluster and the scheduler.
KEEPS_CONNECTIONS = len(sys.argv) > 1 and sys.argv[1] in {"qcluster", "run_scheduler"}

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    f"{scheme}://{host}"
    for host in ALLOWED_HOSTS
    if host not in {"*"} and not host.startswith(".")
    for scheme in ("http", "https")
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "anymail",
    "eventplatform.events",
    "support",
    "training",
    "eventplatform.demo",
]

MIDDLEWARE = [
    "eventplatform.logging.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # ASGI-native: a synchronous middleware would cost every request a hop to a thread.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, and synchronous only: Django's middleware above, up to servestatic, runs in
    # one crossing to the request's thread instead of one per phase of each.
    "eventplatform.middleware.OneHopMiddleware",
]

ROOT_URLCONF = "eventplatform.urls"
WSGI_APPLICATION = "eventplatform.wsgi.application"
ASGI_APPLICATION = "eventplatform.asgi.application"

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

# Database: SQLite in WAL mode by default, anything dj-database-url understands otherwise.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL)
    if DATABASE_URL
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        # A file, not memory, so that servers and workers started by the tests share it.
        "TEST": {"NAME": BASE_DIR / f".test-db-{os.getpid()}.sqlite3"},
    }
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers go on while one process writes.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock at BEGIN: a deferred transaction that upgrades to a writer
            # fails at once with "database is locked" instead of waiting its turn.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # The psycopg pool breaks connections inherited across django-q2's fork, so workers keep
    # persistent connections instead, as does the scheduler, whose looks would otherwise take
    # a connection from a pool and give it back each time; web processes use the pool. Tests
    # close what they open, so that the test database can be dropped at the end.
    if KEEPS_CONNECTIONS:
        _db["CONN_MAX_AGE"] = 60
        # No health check (a round trip before every task or look): a task's first statement
        # is its claim, which runs again on a new connection when the kept one turns out dead;
        # a look that fails on a dead one is followed by one on a new connection.
        _db["CONN_HEALTH_CHECKS"] = False
        if sys.argv[1] == "qcluster":
            # A worker prepares what it runs again and again (a claim, an outcome, a reaction's
            # reads and writes by primary key) after its fifth run, psycopg's default: then
            # PostgreSQL no longer parses and plans it each time, and a delivery costs it a
            # quarter less CPU (docs/benchmarks.md). Not the scheduler: after five runs a
            # prepared statement may get a plan made for any parameters, and one for "status
            # IN (...)" cannot use the partial index `delivery_due` that its looks rely on. Nor
            # web processes, which gained nothing. Django leaves this off for poolers that
            # cannot carry prepared statements (docs/operations.md).
            _db.setdefault("OPTIONS", {}).update(
                {"server_side_binding": True, "prepare_threshold": 5}
            )
    elif TESTING:
        _db["CONN_MAX_AGE"] = 0
    else:
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20, "timeout": 10}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = DEBUG

# Redis carries the task queue and the channel layer. A namespace keeps test runs (and
# several checkouts on one machine) from reading each other's queues and groups.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
NAMESPACE = os.environ.get("EVENTPLATFORM_NAMESPACE") or (
    f"eventplatform-test-{os.getpid()}" if TESTING else "eventplatform"
)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 times idle reads out after 5 s by default, killing idle consumers.
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "prefix": f"{NAMESPACE}:asgi",
            # A process's stream hub receives one message per event on its "specific."
            # channel: give it room, and let the group forget a dead process's hub soon after
            # it stops refreshing its membership.
            "channel_capacity": {"specific.*": 10_000},
            "group_expiry": 300,
        },
    }
}

# The cache holds what every web process must agree on: failed logins and idempotency keys.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{NAMESPACE}:cache",
    }
}

Q_CLUSTER = {
    "name": NAMESPACE,
    "redis": REDIS_URL,
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    # The queue's own last resort against a task that hangs: well above every handler's time
    # limit, which interrupts the handler first and records the attempt. (`retry` only
    # matters to brokers with receipts; the Redis broker never hands a task out twice.)
    "timeout": 120,
    "retry": 180,
    # Deliveries retry themselves with back-off; the queue gives each task one attempt.
    "max_attempts": 1,
    "ack_failures": True,
    # Delivery rows are the record of success; saving successes caps throughput. Failures
    # are still kept.
    "save_limit": -1,
    # A healthy cluster keeps its processes: `run_workers` replaces the whole cluster when one
    # of them dies, so workers are not recycled (a recycled worker looks like a dead one).
    "recycle": 0,
    # The scheduler process (`run_scheduler`) runs the schedules, every second.
    "scheduler": False,
    "catch_up": False,
    # The sentinel's loop, which saves the cluster's status to Redis (kept 3 s) on every turn.
    # Twice a second (the default) costs an idle cluster more than it buys: `run_workers`
    # replaces a cluster whose process dies. The queue's own timeout kill counts down by this
    # period and fires only when it reaches 0 exactly: `timeout` + 3 must be a multiple of it.
    "guard_cycle": 3.0,
    "label": "Task queue",
}

# Seconds a handler's outbound call (SMTP, webhooks, Slack) waits to connect, or for any one
# answer, before it fails. Well below EVENTS["HANDLER_TIME_LIMIT"]: a server that accepts and
# never answers then fails the attempt with a timeout error naming the call, and frees the
# worker, instead of holding it for the handler's whole limit on every attempt.
OUTBOUND_TIMEOUT = 10

EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    globals().update(dj_email_url.parse(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# dj-email-url leaves the timeout at None (wait forever) unless the URL says ?timeout=N.
EMAIL_TIMEOUT = globals().get("EMAIL_TIMEOUT") or OUTBOUND_TIMEOUT
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Event Platform <noreply@localhost>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

SLACK_WEBHOOK_URL = os.environ.get("SLACK_WEBHOOK_URL", "")
CRM_WEBHOOK_URL = os.environ.get("CRM_WEBHOOK_URL", "")
CRM_WEBHOOK_SECRET = os.environ.get("CRM_WEBHOOK_SECRET", "")
# Private hosts and networks operators' webhook subscriptions may reach all the same: a
# receiver the deployer vouches for, or a local one in development (comma-separated:
# "hooks.internal,10.8.0.0/16"). See eventplatform/events/urlpolicy.py.
OUTBOUND_URL_ALLOW = [
    entry.strip() for entry in os.environ.get("OUTBOUND_URL_ALLOW", "").split(",") if entry.strip()
]

# The event backbone: its settings and their defaults are in eventplatform/events/conf.py;
# EVENTS overrides any of them.
EVENTS = {}
if retry_schedule := os.environ.get("RETRY_SCHEDULE"):
    EVENTS["RETRY_SCHEDULE"] = [float(s) for s in retry_schedule.split(",") if s.strip()]

REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "eventplatform.pagination.Pages",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "eventplatform.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "eventplatform.rest.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "eventplatform.rest.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Failed logins allowed per window (eventplatform/login.py), by username and by address.
    "DEFAULT_THROTTLE_RATES": {"login-username": "10/hour", "login-address": "30/hour"},
    # Proxies in front that append the client's address to X-Forwarded-For. With none, the
    # header is the client's own word and the connection's address is used.
    "NUM_PROXIES": int(os.environ.get("PROXY_COUNT") or 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Event Platform API",
    "DESCRIPTION": "Support tickets, courses and the event backbone that connects them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Tickets, enrollments and deliveries each have a status: name the ticket's too.
    "ENUM_NAME_OVERRIDES": {"TicketStatusEnum": "support.models.Status"},
}

# Production hardening, on when DEBUG is off (tests aside). HTTPS=0 serves plain HTTP, as a
# local run and the test suite's servers do.
HTTPS = env_bool("HTTPS", not (DEBUG or TESTING))
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# Load balancers and Prometheus probe each process directly, often over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS
# Behind a proxy that terminates TLS, the header by which it says so (X-Forwarded-Proto).
# Set it only when the proxy always sets that header: otherwise a client could claim HTTPS.
if _proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
# Pages load scripts, styles and images from the site only, never inline scripts. Inline
# style attributes remain: progress bars set their width in one (see docs/security.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# The bearer token Prometheus presents at /metrics; unset, only operators' sessions read it.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "eventplatform.logging.ContextFilter"}},
    "formatters": {
        "keyvalue": {
            "format": "%(asctime)s level=%(levelname)s logger=%(name)s "
            "request=%(correlation_id)s event=%(event_id)s %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "keyvalue",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # httpx logs every request's full URL at INFO, query-string tokens included.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- Support by email ----------------------------------------------------------------------
# Mail comes in through an email provider's inbound webhook (django-anymail, at
# /anymail/<provider>/inbound/) or through `manage.py run_mail_receiver`, an SMTP/LMTP server
# a local mail server such as Postfix hands mail to. See docs/email.md.

# Uploaded and received files (email attachments). Served only by the attachment download
# view after a permission check, never as static media.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# django-anymail: every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"], e.g.
# ANYMAIL_WEBHOOK_SECRET="user:password" (the basic-auth credentials the provider's inbound
# webhook URL carries) or ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY. With DEBUG off, a provider's
# inbound endpoint answers 404 until one of them authenticates its posts.
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}

# Where run_mail_receiver listens: loopback by default, for a mail server on the same host.
MAIL_RECEIVER_HOST = os.environ.get("MAIL_RECEIVER_HOST", "127.0.0.1")
MAIL_RECEIVER_PORT = int(os.environ.get("MAIL_RECEIVER_PORT", "2525"))
# The largest message the receiver accepts (bytes); larger ones are refused at DATA (552).
MAIL_RECEIVER_MAX_BYTES = int(os.environ.get("MAIL_RECEIVER_MAX_BYTES", str(25 * 1024 * 1024)))

# The address customers write to. New mail to it opens tickets; ticket emails carry a signed
# reply address on it (support+T-00012.<signature>@...). Empty: no reply address is added, and
# replies are matched by their In-Reply-To/References or the reference in the subject.
SUPPORT_EMAIL_ADDRESS = os.environ.get("SUPPORT_EMAIL_ADDRESS", "")
# Mail from an address no active user has: "hold" it for an agent to review (default), or
# "create" a customer account (no usable password) and open the ticket.
SUPPORT_EMAIL_UNKNOWN_SENDERS = os.environ.get("SUPPORT_EMAIL_UNKNOWN_SENDERS", "hold")
if SUPPORT_EMAIL_UNKNOWN_SENDERS not in ("hold", "create"):
    raise ImproperlyConfigured('SUPPORT_EMAIL_UNKNOWN_SENDERS must be "hold" or "create".')
# Mail from one sender beyond this many per window is held for review (a flood, a loop).
SUPPORT_EMAIL_RATE_LIMIT = int(os.environ.get("SUPPORT_EMAIL_RATE_LIMIT", "10"))
SUPPORT_EMAIL_RATE_WINDOW = int(os.environ.get("SUPPORT_EMAIL_RATE_WINDOW", "3600"))  # seconds
# The authserv-id in the Authentication-Results header (RFC 8601) that the platform's own mail
# server or provider adds, e.g. "mx.example.com"; that server must remove headers claiming this
# id from mail it receives. A reply matched only by the [T-00012] in its subject is attached
# when that header says dmarc=pass, else held for review. Empty: no sender is authenticated.
SUPPORT_EMAIL_AUTHSERV_ID = os.environ.get("SUPPORT_EMAIL_AUTHSERV_ID", "")
# Attachments kept with a message: at most this size each (bytes), of these content types, at
# most this many per email. Others are dropped, and the message says which and why.
SUPPORT_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("SUPPORT_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))
)
SUPPORT_ATTACHMENT_MAX_COUNT = int(os.environ.get("SUPPORT_ATTACHMENT_MAX_COUNT", "20"))
SUPPORT_ATTACHMENT_TYPES = [
    content_type.strip().lower()
    for content_type in os.environ.get(
        "SUPPORT_ATTACHMENT_TYPES",
        "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,"
        "application/zip,application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
        "application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet",
    ).split(",")
    if content_type.strip()
]
