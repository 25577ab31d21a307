"""Settings, all from the environment (django-environ).

With nothing set the platform runs *embedded*: a SQLite file, a file-system Celery broker and a file cache, so it
starts on a bare machine with Python 3.11. With ``DATABASE_URL`` and ``REDIS_URL`` it runs on PostgreSQL and Redis
(Celery broker, cache, rate limits, pub/sub), which is how CI and production run it.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.secret_keys import (
    KNOWN_INSECURE_SIGNING_KEYS,
    MIN_SIGNING_KEY_LENGTH,
    insecure_signing_key_reason,
    new_fernet_key,
    new_signing_key,
    persistent_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PLATFORM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The signing key (sessions, JWTs). Embedded mode (no DATABASE_URL) or DEBUG: generated on first start and kept in
# var/secret_key (mode 0600), shared by every process. A deployment (DATABASE_URL set, DEBUG off) must set
# DJANGO_SECRET_KEY to a long random value and refuses to start otherwise (config/secret_keys.py).
_DEPLOYED = bool(env.str("DATABASE_URL", default="")) and not DEBUG
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if _DEPLOYED:
    if _reason := insecure_signing_key_reason(SECRET_KEY):
        raise ImproperlyConfigured(
            f"{_reason}. With DATABASE_URL set and DJANGO_DEBUG off the platform needs its own signing key: set "
            f"DJANGO_SECRET_KEY to a random value of at least {MIN_SIGNING_KEY_LENGTH} characters, e.g. the output "
            f"of: python -c \"import secrets; print(secrets.token_urlsafe(64))\"")
elif not SECRET_KEY or SECRET_KEY in KNOWN_INSECURE_SIGNING_KEYS:
    SECRET_KEY = persistent_secret(VAR_DIR / "secret_key", new_signing_key)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
# Public base URL, written into each agent's skill.md.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "common",
    "accounts",
    "agents",
    "market",
    "trading",
    "streams",
    "binance",
    "analytics",
    "backtests",
    "battles",
]

MIDDLEWARE = [
    "common.metrics.MetricsMiddleware",  # outermost: times and counts every response, whatever produced it
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, CSRF, auth and messages middleware, passed over by API requests without cookies
    # (common/middleware.py): the admin and browser pages get them whole.
    "common.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "common.middleware.CsrfViewMiddleware",
    "common.middleware.AuthenticationMiddleware",
    "common.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.ratelimit.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database -------------------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'platform.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if env.bool("DB_POOL", default=False):
        # A psycopg connection pool per process (Django >= 5.1), for a server whose threads come and go (Django's own
        # ASGI handler runs each request on a new thread). Off by default: config/asgi.py runs requests on a fixed
        # pool of WEB_THREADS threads, each keeping its persistent connection (CONN_MAX_AGE).
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=2), "max_size": env.int("DB_POOL_MAX", default=16),
            "timeout": 10,
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
else:
    # SQLite in embedded mode: several processes share the file, so wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.Account"

# --- Redis, cache, Celery ---------------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not REDIS_URL

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    # Embedded: processes (web, worker, beat, feed) share state through the file system.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="atomicfs://")  # config/embedded_broker.py
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # exchange tables; kombu's default is ./control
        "store_processed": False,
        # The worker takes one message per poll from a file-system queue: poll often or ticks' sweeps pile up.
        "polling_interval": 0.02,
    }

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# The beat schedule is CELERY_BEAT_SCHEDULE (below, with the settings its intervals come from). django-celery-beat's
# DatabaseScheduler writes those entries into its PeriodicTask table (by name) every time beat starts, so the
# settings win over edits made in the admin; entries added in the admin (or by an app at run time) are kept.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# A broker that goes away (a Redis restart) is waited for, forever and with backoff, at start and while running:
# the worker and beat must outlive a blip (docs/decisions.md, "Hardening: reliability").
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Tasks fired every tick (sweeps) log "received"/"succeeded" at DEBUG, not INFO: at the default level the worker
# shows starts, failures and recoveries, not every tick (config/celery_app.py, QuietTaskFilter).
# Frequent tasks whose routine received/succeeded/sent lines are DEBUG, not INFO (config/celery_app.py).
CELERY_QUIET_TASKS = env.list("CELERY_QUIET_TASKS", default=[
    "trading.sweep_symbol", "trading.fill_order", "battles.tick", "analytics.update_metrics"])

# --- Auth -------------------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Access tokens are not checked against the blacklist (no lookup per request): logout blacklists the refresh token,
# and the access token in hand ends with its short life (15 min by default; refresh for a new one).
JWT_ACCESS_LIFETIME = timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=900))
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": JWT_ACCESS_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": False,
    "BLACKLIST_AFTER_ROTATION": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "account_id",
}
# Fernet keys (urlsafe base64, 32 bytes each) for secrets kept encrypted at rest (request-signing and webhook
# secrets), independent of SECRET_KEY. A comma-separated list: the first encrypts, every one decrypts (MultiFernet),
# which is how a key is rotated (docs/decisions.md). Embedded mode or DEBUG: generated and kept in
# var/field_encryption_key; a deployment must set it.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if _DEPLOYED:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not set. With DATABASE_URL set and DJANGO_DEBUG off the platform needs its own "
            "key for secrets kept encrypted in the database: set FIELD_ENCRYPTION_KEY to the output of: python -c "
            "\"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"")
    FIELD_ENCRYPTION_KEYS = [persistent_secret(VAR_DIR / "field_encryption_key", new_fernet_key)]

# --- REST framework ---------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.authentication.AgentKeyAuthentication",
        "accounts.authentication.AccountJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["common.ratelimit.RedisRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.negotiation.ContentNegotiation",  # DRF's, parsing skipped for */*
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],  # DRF's, but deep nesting is a 400, not a 500
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.DefaultPagination",
    "DEFAULT_SCHEMA_CLASS": "common.openapi.AutoSchema",  # unique component names for nested serializers
    "EXCEPTION_HANDLER": "common.exception_handler.envelope_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SPECTACULAR_SETTINGS = {
    "TITLE": "Agent Paper-Trading Platform API",
    "DESCRIPTION": "Paper trading for AI agents: accounts, agents, wallets, market data, orders, battles.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "AgentKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
    },
}

# --- Rate limits (requests per window) --------------------------------------------------------------------------------
RATE_LIMIT_WINDOW_SECONDS = env.int("RATE_LIMIT_WINDOW_SECONDS", default=60)
RATE_LIMIT_PER_KEY = env.int("RATE_LIMIT_PER_KEY", default=1200)
RATE_LIMIT_PER_ACCOUNT = env.int("RATE_LIMIT_PER_ACCOUNT", default=600)
RATE_LIMIT_ANONYMOUS = env.int("RATE_LIMIT_ANONYMOUS", default=300)
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
# Failed logins per account (any address) per window before its logins answer 429 until the window ends; 0 = off.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)

# --- Client addresses ------------------------------------------------------------------------------------------------
# Reverse proxies (addresses or CIDR networks, comma separated) whose X-Forwarded-For / X-Forwarded-Proto are believed.
# Default none: the client is the TCP peer, whatever a request claims (common/proxy.py, config/asgi.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Signed requests --------------------------------------------------------------------------------------------------
SIGNATURE_WINDOW_SECONDS = env.int("SIGNATURE_WINDOW_SECONDS", default=30)

# --- Trading defaults (API.md "Defaults") -----------------------------------------------------------------------------
DEFAULT_STARTING_BALANCE = env.str("DEFAULT_STARTING_BALANCE", default="10000.00")
QUOTE_ASSET = "USDT"

# --- Static, i18n -----------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from here once `collectstatic` has run (bin/run does)
WHITENOISE_USE_FINDERS = True  # ...and straight from the apps before that
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Market data and the price feed (market/, docs/market-data.md) ---------------------------------------------------
# The pairs seeded by the data migration / ``market.services.ensure_default_pairs()``: Binance spot's filters.
# ``MARKET_PAIRS`` (env, comma separated) picks which of them to seed; ``manage.py sync_pairs`` refreshes filters
# from the exchange when online.
MARKET_DEFAULT_PAIRS = [
    {"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "tick_size": "0.01", "step_size": "0.00001",
     "min_qty": "0.00001", "min_notional": "5"},
    {"symbol": "ETHUSDT", "base": "ETH", "quote": "USDT", "tick_size": "0.01", "step_size": "0.0001",
     "min_qty": "0.0001", "min_notional": "5"},
    {"symbol": "SOLUSDT", "base": "SOL", "quote": "USDT", "tick_size": "0.01", "step_size": "0.001",
     "min_qty": "0.001", "min_notional": "5"},
    {"symbol": "BNBUSDT", "base": "BNB", "quote": "USDT", "tick_size": "0.01", "step_size": "0.001",
     "min_qty": "0.001", "min_notional": "5"},
    {"symbol": "XRPUSDT", "base": "XRP", "quote": "USDT", "tick_size": "0.0001", "step_size": "0.1",
     "min_qty": "0.1", "min_notional": "5"},
]
MARKET_PAIRS = env.list("MARKET_PAIRS", default=[p["symbol"] for p in MARKET_DEFAULT_PAIRS])
MARKET_INSTRUMENT_CACHE_SECONDS = env.float("MARKET_INSTRUMENT_CACHE_SECONDS", default=30.0)
# Prefix of every Redis key and pub/sub channel of the market app (tests use one per run to stay isolated).
MARKET_KEY_PREFIX = env.str("MARKET_KEY_PREFIX", default="mkt")

FEED_SOURCE = env.str("FEED_SOURCE", default="live")  # live | replay | synthetic (live falls back, see docs)
FEED_EXCHANGE = env.str("FEED_EXCHANGE", default="binance")  # any ccxt exchange id
FEED_EXCHANGE_TIMEOUT_MS = env.int("FEED_EXCHANGE_TIMEOUT_MS", default=10_000)
FEED_POLL_SECONDS = env.float("FEED_POLL_SECONDS", default=1.0)  # live polling / synthetic tick cadence
FEED_BOOK_DEPTH = env.int("FEED_BOOK_DEPTH", default=20)  # levels per side kept in Redis
FEED_BACKOFF_INITIAL_SECONDS = env.float("FEED_BACKOFF_INITIAL_SECONDS", default=1.0)
FEED_BACKOFF_MAX_SECONDS = env.float("FEED_BACKOFF_MAX_SECONDS", default=30.0)
FEED_RECONNECT_AFTER_FAILURES = env.int("FEED_RECONNECT_AFTER_FAILURES", default=3)
FEED_REPLAY_DIR = env.str("FEED_REPLAY_DIR", default="")  # e.g. /work/shared/data/candles
FEED_REPLAY_SPEED = env.float("FEED_REPLAY_SPEED", default=1.0)  # 1 = real time; 0 = as fast as possible
FEED_REPLAY_LOOP = env.bool("FEED_REPLAY_LOOP", default=True)
FEED_REPLAY_START = env.str("FEED_REPLAY_START", default="")  # ISO-8601; empty = first candle
FEED_REPLAY_END = env.str("FEED_REPLAY_END", default="")  # ISO-8601, exclusive; empty = last candle
FEED_REPLAY_TICK_SECONDS = env.float("FEED_REPLAY_TICK_SECONDS", default=1.0)  # wall time between replay ticks
# Synthesised book (replay, synthetic): best bid/ask SPREAD_BPS apart around the price, levels LEVEL_STEP_BPS
# apart, level i (0 = best) holding LEVEL_NOTIONAL * (1 + i/2) quote worth of base.
FEED_BOOK_SPREAD_BPS = env.str("FEED_BOOK_SPREAD_BPS", default="2")
FEED_BOOK_LEVEL_STEP_BPS = env.str("FEED_BOOK_LEVEL_STEP_BPS", default="1")
FEED_BOOK_LEVEL_NOTIONAL = env.str("FEED_BOOK_LEVEL_NOTIONAL", default="25000")
FEED_SYNTHETIC_SEED = env.int("FEED_SYNTHETIC_SEED", default=42)
FEED_SYNTHETIC_VOLATILITY_BPS = env.str("FEED_SYNTHETIC_VOLATILITY_BPS", default="5")  # stdev per tick
FEED_SYNTHETIC_START_PRICES = {"BTCUSDT": "65000", "ETHUSDT": "3200", "SOLUSDT": "150", "BNBUSDT": "600",
                               "XRPUSDT": "0.6"}
FEED_CANDLE_FLUSH_SECONDS = env.float("FEED_CANDLE_FLUSH_SECONDS", default=1.0)
# A price older than this is stale (live: by the exchange's timestamp; replay/synthetic: by wall-clock arrival).
FEED_STALE_SECONDS = env.float("FEED_STALE_SECONDS", default=30.0)

# Fee schedule by rolling 30-day quote volume, lowest tier first (decimal strings). Served by GET /market/fees and
# read by the trading engine (trading.engine.fees.parse_fee_tiers). Override with a JSON list in FEE_TIERS.
FEE_TIERS = env.json("FEE_TIERS", default=[
    {"min_volume_30d": "0", "maker_bps": "8", "taker_bps": "10"},
    {"min_volume_30d": "1000000", "maker_bps": "6", "taker_bps": "8"},
    {"min_volume_30d": "5000000", "maker_bps": "4", "taker_bps": "6"},
    {"min_volume_30d": "25000000", "maker_bps": "2", "taker_bps": "4"},
])

# --- Streams (SSE) and webhooks (streams/, docs/streams.md) -----------------------------------------------------------
# How committed changes reach the SSE streams of every web process: "redis" (one pub/sub subscription per process)
# or "outbox" (rows in streams_outboxevent, polled by each web process). Default: redis when REDIS_URL is set.
STREAMS_BUS = env.str("STREAMS_BUS", default="redis" if REDIS_URL else "outbox")
# Pub/sub channel prefix; empty = "streams:db<N>" from REDIS_URL, so runs on different Redis dbs never mix
# (pub/sub channels are global to a Redis server, unlike keys).
STREAMS_CHANNEL_PREFIX = env.str("STREAMS_CHANNEL_PREFIX", default="")
STREAMS_HEARTBEAT_SECONDS = env.float("STREAMS_HEARTBEAT_SECONDS", default=15.0)  # ":heartbeat" comment cadence
STREAMS_USER_INTERVAL_MS = env.int("STREAMS_USER_INTERVAL_MS", default=250)  # default delta cadence, /stream/user
STREAMS_EVENTS_INTERVAL_MS = env.int("STREAMS_EVENTS_INTERVAL_MS", default=500)  # default cadence, /stream/events
STREAMS_COALESCE_MS = env.int("STREAMS_COALESCE_MS", default=5)  # wait this long after an idle wake-up
STREAMS_QUEUE_SIZE = env.int("STREAMS_QUEUE_SIZE", default=2000)  # per connection; overflow -> fresh snapshot
STREAMS_REAUTH_SECONDS = env.float("STREAMS_REAUTH_SECONDS", default=30.0)  # re-check key/token of open streams
STREAMS_RECENT_TRADES = env.int("STREAMS_RECENT_TRADES", default=50)  # fills/trades in a snapshot
# Threads per web process that run Django's sync stack under uvicorn (config/asgi.py), each with its own persistent
# database connection: the number of requests a process works on at once (SSE streams excepted). More threads only
# fight over the GIL: bench/orders.py, one process, 16 clients: 2 threads 128 orders/s at 6.7 ms of web CPU per
# order, 4 threads 127-134/s at 6.8-7.2 ms, 8 threads 121/s at 8.0 ms, 16 threads 113/s at 8.4 ms.
WEB_THREADS = env.int("WEB_THREADS", default=4)
STREAMS_DB_THREADS = env.int("STREAMS_DB_THREADS", default=4)  # threads for snapshot/auth DB reads per process
STREAMS_OUTBOX_POLL_MS = env.int("STREAMS_OUTBOX_POLL_MS", default=100)
STREAMS_OUTBOX_RETENTION_SECONDS = env.int("STREAMS_OUTBOX_RETENTION_SECONDS", default=300)
STREAMS_BOOK_POLL_MS = env.int("STREAMS_BOOK_POLL_MS", default=500)  # outbox mode: book re-read of watched pairs

# Celery queue of webhook deliveries: slow receivers must not hold up the workers that fill orders (bin/run's worker
# consumes it besides "celery").
WEBHOOK_QUEUE = env.str("WEBHOOK_QUEUE", default="webhooks")
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)  # allow loopback/private targets (tests)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=10.0)  # 10, 20, 40, ... s
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_MAX_ENDPOINTS = env.int("WEBHOOK_MAX_ENDPOINTS", default=10)  # per agent
WEBHOOK_RISK_BREACH_COOLDOWN_SECONDS = env.int("WEBHOOK_RISK_BREACH_COOLDOWN_SECONDS", default=60)

# --- Trading core: orders, fills, sweeps (trading/services, docs in trading/services/orders.py) ----------------------
# Prefix of the trading app's Redis keys (order-done signals, wallet event channels, fee-volume cache).
TRADING_KEY_PREFIX = env.str("TRADING_KEY_PREFIX", default="trd")
# POST /trade/order waits this long by default (?wait_ms= overrides, capped at the max) for a worker to execute an
# order that takes liquidity on arrival, so the response carries its fills.
ORDER_WAIT_DEFAULT_MS = env.int("ORDER_WAIT_DEFAULT_MS", default=500)
ORDER_WAIT_MAX_MS = env.int("ORDER_WAIT_MAX_MS", default=2000)
# The Binance door answers a MARKET (or marketable LIMIT) order with RESULT/FULL only once a worker executed it, as
# Binance does: it waits up to this long (then answers with the order as it is, status NEW).
BINANCE_ORDER_WAIT_MS = env.int("BINANCE_ORDER_WAIT_MS", default=2000)
# A market buy by quantity locks its estimated cost plus this margin (and the taker fee); unused is released.
MARKET_ORDER_MAX_SLIPPAGE_PCT = env.str("MARKET_ORDER_MAX_SLIPPAGE_PCT", default="5")
# An order that takes liquidity on arrival is filled in the placing transaction (True) or by a Celery worker after
# commit (False). Measured with bench/orders.py: see docs/orders.md and docs/decisions.md.
ORDER_FILL_ON_PLACEMENT = env.bool("ORDER_FILL_ON_PLACEMENT", default=True)
FEE_VOLUME_CACHE_SECONDS = env.int("FEE_VOLUME_CACHE_SECONDS", default=60)
SWEEP_BATCH_SIZE = env.int("SWEEP_BATCH_SIZE", default=250)  # crossed orders settled per transaction
EXECUTION_BATCH_SIZE = env.int("EXECUTION_BATCH_SIZE", default=100)  # waiting market orders executed per task
SWEEP_COALESCE_MS = env.int("SWEEP_COALESCE_MS", default=20)  # run_sweeper: ticks of a pair merged per window
EQUITY_SNAPSHOT_SECONDS = env.int("EQUITY_SNAPSHOT_SECONDS", default=60)
EXECUTION_RECOVERY_SECONDS = env.int("EXECUTION_RECOVERY_SECONDS", default=30)  # beat: recover_executions period
EXECUTION_RECOVERY_AFTER_SECONDS = env.int("EXECUTION_RECOVERY_AFTER_SECONDS", default=10)
CELERY_BEAT_SCHEDULE = {
    # The names are those the trading migration 0003 used to register, so rows it left behind are updated in place.
    "trading: equity snapshots": {"task": "trading.snapshot_equity", "schedule": float(EQUITY_SNAPSHOT_SECONDS)},
    "trading: recover lost executions": {"task": "trading.recover_executions",
                                         "schedule": float(EXECUTION_RECOVERY_SECONDS)},
}
# Celery's Django fixup closes the database connection before and after EVERY task unless this is set; a new
# PostgreSQL connection per task costs more than most tasks (~40 ms of a 5 ms fill). Reuse it for this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# The queue tasks go to when nothing routes them elsewhere (workers consume it with ``-Q``; tests use their own).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
if REDIS_URL:
    # A worker killed with SIGKILL cannot give its unacknowledged message back; Redis redelivers it after this many
    # seconds. It must exceed the longest task of ANY app (a redelivered running task runs twice). Trading's own
    # lost work is also re-enqueued by the ``trading.recover_executions`` beat task within ~30 s.
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("visibility_timeout", env.int("CELERY_VISIBILITY_TIMEOUT", default=600))
    # Look for such messages every few seconds (kombu's default scans every 100 s).
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("unacked_restore_interval",
                                               env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=5))
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("unacked_restore_throttle", 1)

# --- Process heartbeats (common/heartbeat.py): worker, beat, feed and sweeper beat every HEARTBEAT_SECONDS; one that
# stays silent for HEARTBEAT_TTL_SECONDS is reported by /api/v1/health (status "degraded").
HEARTBEAT_SECONDS = env.float("HEARTBEAT_SECONDS", default=5.0)
HEARTBEAT_TTL_SECONDS = env.float("HEARTBEAT_TTL_SECONDS", default=20.0)
HEARTBEAT_KEY_PREFIX = env.str("HEARTBEAT_KEY_PREFIX", default="hb")
# Retry-After (seconds) of a 503 SERVICE_UNAVAILABLE answered while a dependency (Redis, broker, database) is down.
DEPENDENCY_RETRY_AFTER_SECONDS = env.int("DEPENDENCY_RETRY_AFTER_SECONDS", default=5)

# --- Operations: health, metrics, hot-path database options (common/health.py, common/metrics.py, bench/) ----------
# Django checks a persistent connection before its first use in each request, so that a connection left broken by a
# database restart is replaced instead of failing one request.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
    # Django's backend, whose health check looks at the socket first and pings only a connection the server has
    # written to while it was idle (common/db/postgresql/base.py): no round trip per request.
    DATABASES["default"]["ENGINE"] = "common.db.postgresql"
    # Server-side parameter binding lets psycopg prepare statements a connection runs repeatedly (the key lookup,
    # the balance read), so PostgreSQL stops re-planning them; bench/auth_read.py measures the difference.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING",
                                                                                     default=False)
# The cyclic garbage collector's young-generation threshold in every process (common/gc_tuning.py; Python's is 700,
# which ran a collection about every ten engine orders); 0 keeps Python's.
GC_GEN0_THRESHOLD = env.int("GC_GEN0_THRESHOLD", default=20_000)
# Agent keys resolved in the last N seconds are reused by each process without a database query, while the
# "agent-auth" generation in Redis stands still (agents/keycache.py); 0 turns the cache off.
AGENT_KEY_CACHE_SECONDS = env.float("AGENT_KEY_CACHE_SECONDS", default=10.0)
GENERATION_KEY_PREFIX = env.str("GENERATION_KEY_PREFIX", default="gen")  # Redis keys of common/generation.py
# OpenAPI: name the order status choices (several apps have a "status" field).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["OrderStatusEnum"] = "trading.models.Order.Status"

# --- First hour: landing page and demo credentials (common/views.py, agents/management/commands/seed_demo.py) ------
# seed_demo writes the keys it has just issued here (mode 0600; keys are only hashed in the database). The landing
# page "/" shows them only when LANDING_SHOW_DEMO_KEYS is on (default: embedded mode or DEBUG) AND the request comes
# from the machine itself (a loopback REMOTE_ADDR): a developer's laptop, never a deployment.
DEMO_CREDENTIALS_FILE = Path(env.str("DEMO_CREDENTIALS_FILE", default=str(VAR_DIR / "demo-credentials.json")))
LANDING_SHOW_DEMO_KEYS = env.bool("LANDING_SHOW_DEMO_KEYS", default=EMBEDDED or DEBUG)

# --- Analytics: metrics, leaderboards, equity history (analytics/, docs/analytics.md) --------------------------------
ANALYTICS_RISK_FREE_RATE = env.float("ANALYTICS_RISK_FREE_RATE", default=0.0)  # annual, as a fraction (0.04 = 4 %)
# A fill is pushed into the metrics once it is this old (fills of many workers may commit out of id order).
ANALYTICS_FILL_SETTLE_SECONDS = env.float("ANALYTICS_FILL_SETTLE_SECONDS", default=10.0)
ANALYTICS_UPDATE_SECONDS = env.int("ANALYTICS_UPDATE_SECONDS", default=60)

# The analytics' periodic tasks join the beat schedule above.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE.update({
    "analytics: update metrics": {"task": "analytics.update_metrics", "schedule": float(ANALYTICS_UPDATE_SECONDS)},
    "analytics: downsample equity history": {"task": "analytics.downsample_equity",
                                              "schedule": crontab(minute=20, hour=0)},
    "analytics: verify metrics (full recompute)": {"task": "analytics.recompute_metrics",
                                                    "schedule": crontab(minute=50, hour=0)},
})

# --- Battles (battles/) ------------------------------------------------------------------------------------------------
BATTLE_SNAPSHOT_SECONDS = env.int("BATTLE_SNAPSHOT_SECONDS", default=5)  # beat: standings round of every active battle
CELERY_BEAT_SCHEDULE["battles: standings rounds, automatic stop"] = {
    "task": "battles.tick", "schedule": float(BATTLE_SNAPSHOT_SECONDS)}
BATTLE_METRIC_MAX_POINTS = env.int("BATTLE_METRIC_MAX_POINTS", default=200)  # equity points a round's metrics read
