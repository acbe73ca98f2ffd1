"""alphanode settings, read from the environment.

Development and production differ only by environment variables. A `.env`
file next to manage.py is read first if present (real environment variables
win); `make setup` writes one with a random SECRET_KEY for local use.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean from the environment: 1/true/yes/on are true."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated list from the environment."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (or in .env for local use; "
            "`make setup` writes one). Only DEBUG=1 runs fall back to a development key."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where run-time files (SQLite database, file cache) live when no service is configured.
VAR_DIR = Path(os.environ.get("ALPHANODE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "taggit",
    "axes",
    "alphanode.pagecache",
    "alphanode.ops",
    "posts",
]

MIDDLEWARE = [
    # First, so its timing and status cover everything below it (static files, cached pages).
    "alphanode.ops.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Header-setting middleware sits above the page cache so cached hits get the headers too.
    # After WhiteNoise: static files need no policy; pages and the admin get one.
    "alphanode.ops.csp.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # gzip/Brotli per response for what the page cache does not serve (it sends stored copies).
    "alphanode.pagecache.compression.CompressionMiddleware",
    # Applies due scheduled publications before the page cache answers, and caps
    # cached pages at the next one (posts/scheduling.py).
    "posts.scheduling.ScheduleMiddleware",
    # Serves cached pages before sessions, auth and views run (see alphanode/pagecache/).
    "alphanode.pagecache.middleware.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, so it sees a view's exceptions first: database down is a 503, not a 500.
    "alphanode.ops.outage.DatabaseUnavailableMiddleware",
    # Answers a locked-out login attempt (django-axes wants to be last).
    "axes.middleware.AxesMiddleware",
]

# Admin login throttle (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is refused (429) for AXES_COOLOFF_TIME, even with
# the right password. By username *and* address, so an attacker cannot lock an editor
# out from the editor's own address; the cool-off does not restart on attempts made while
# locked, so nobody stays locked for longer than it. Staff see attempts and lockouts in
# the admin (Axes: access attempts) and can delete one to unlock at once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

ROOT_URLCONF = "alphanode.urls"

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
                "posts.site.site_context",
            ],
        },
    },
]

WSGI_APPLICATION = "alphanode.wsgi.application"


# Database: PostgreSQL from DATABASE_URL in production; a SQLite file otherwise.
def _database_from_env() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if url:
        config = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config["OPTIONS"] = SQLITE_OPTIONS
        elif config["ENGINE"] == "django.db.backends.postgresql":
            # Fail fast when the server is unreachable, so /health answers instead of hanging.
            config.setdefault("OPTIONS", {}).setdefault(
                "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
            )
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        "OPTIONS": SQLITE_OPTIONS,
        # A file, not memory: tests start real processes (gunicorn, import_posts) against it.
        "TEST": {"NAME": VAR_DIR / "test-db.sqlite3"},
    }


# WAL lets readers run while the importer writes; IMMEDIATE transactions take the
# write lock up front, so two writers queue instead of failing with "database is locked".
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}

DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set. Otherwise a file cache, which every worker
# process on the machine shares (a per-process LocMem cache would not be).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "alphanode"),
            # An unreachable Redis fails a request (and /health) in seconds instead of hanging it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("ALPHANODE_CACHE_DIR", VAR_DIR / "cache"),
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "alphanode"),
        }
    }

# The full-page cache (alphanode/pagecache/): Redis when REDIS_URL is set, a SQLite
# file every process on the machine shares otherwise.
PAGECACHE = {
    # Off only for measuring and debugging: every request renders (X-Cache: BYPASS).
    "ENABLED": os.environ.get("PAGECACHE_ENABLED", "1") != "0",
    "BACKEND": "redis" if REDIS_URL else "sqlite",
    "LOCATION": REDIS_URL or os.environ.get("PAGECACHE_PATH", str(VAR_DIR / "pagecache.sqlite3")),
    "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "alphanode"),
    # Shared store and CDN (s-maxage) lifetime; purges make it safe to be long.
    "SECONDS": int(os.environ.get("PAGECACHE_SECONDS", 24 * 3600)),
    # 301 and 404 pages.
    "SHORT_SECONDS": int(os.environ.get("PAGECACHE_SHORT_SECONDS", 300)),
    # Browsers cannot be purged: keep their copy short.
    "BROWSER_SECONDS": int(os.environ.get("PAGECACHE_BROWSER_SECONDS", 60)),
    # A process trusts its own copy of a page this long before re-reading the purge generation.
    "LOCAL_SECONDS": float(os.environ.get("PAGECACHE_LOCAL_SECONDS", 0.5)),
    "LOCAL_ENTRIES": int(os.environ.get("PAGECACHE_LOCAL_ENTRIES", 500)),
    # The store holds at most this many pages; storing one more evicts the oldest stored.
    "MAX_ENTRIES": int(os.environ.get("PAGECACHE_MAX_ENTRIES", 20_000)),
    # A page stays in the store this long past its lifetime, served (X-Cache: STALE) only
    # when rendering it fails, e.g. while the database is down.
    "STALE_SECONDS": int(os.environ.get("PAGECACHE_STALE_SECONDS", 24 * 3600)),
    # Each worker looks for failed purges (store down) this often, and retries them.
    "RETRY_SECONDS": float(os.environ.get("PAGECACHE_RETRY_SECONDS", 30)),
    "EXCLUDED_PREFIXES": ("/admin/", "/static/", "/health", "/metrics", "/ops/"),
}
# Edges (Varnish running deploy/varnish/alphanode.vcl) purged by tag after the app's own
# store: their purge addresses, e.g. http://10.0.0.5:6081/,http://10.0.0.6:6081/
EDGE_PURGE_URLS = env_list("EDGE_PURGE_URLS")
# Soft purge: readers get the old page for a moment while one request refetches it.
EDGE_SOFT_PURGE = env_bool("EDGE_SOFT_PURGE")
EDGE_TIMEOUT = float(os.environ.get("EDGE_TIMEOUT", 2.0))
# Purge the edges a second time this long after each purge (0: never); see alphanode/pagecache/edges.py.
EDGE_SETTLE_SECONDS = float(os.environ.get("EDGE_SETTLE_SECONDS", 2.0))
# The page the deploy's smoke test fetches besides /health: a function returning a path or None.
SMOKE_TEST_PATH = os.environ.get("SMOKE_TEST_PATH", "posts.smoke.newest_article_path")
# Absolute URLs (canonical links, feeds, sitemaps) use this, never the request's Host.
# Required outside DEBUG: a forgotten SITE_URL would point every absolute link at loopback.
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")
if not SITE_URL:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SITE_URL is not set. Set it to the site's public address (https://example.org) in the "
            "environment or in .env (`make setup` writes http://127.0.0.1:8000 for local use)."
        )
    SITE_URL = "http://127.0.0.1:8000"
# The publisher named as author of every post in feeds and metadata (records have no author field).
PUBLISHER_NAME = os.environ.get("PUBLISHER_NAME", "alphanode")

# How long import_posts keeps retrying a batch while the database is unreachable
# (a restart, a failover) before it stops with exit status 75 and says how to resume.
IMPORT_RETRY_SECONDS = float(os.environ.get("IMPORT_RETRY_SECONDS", "60"))
# Cached pages are rendered for SITE_URL's host, so that host is always allowed.
if urlsplit(SITE_URL).hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(urlsplit(SITE_URL).hostname)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The admin shows and takes times (publish_at, unpublish_at) in this zone; stored times are UTC.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# How often each process re-reads the next scheduled publication time (posts/scheduling.py).
SCHEDULE_CHECK_SECONDS = float(os.environ.get("SCHEDULE_CHECK_SECONDS", 0.25))
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files served at the site's root by WhiteNoise (/favicon.ico): browsers ask for it there.
WHITENOISE_ROOT = BASE_DIR / "public"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Tags are case-sensitive so that a record's tag names come back exactly as given.
TAGGIT_CASE_INSENSITIVE = False

# Logs go to stdout, one JSON object per line (LOG_FORMAT=text for people reading a terminal).
# Each request writes one line on `alphanode.request`, each import one on `alphanode.import`.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "alphanode.ops.logformat.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": os.environ.get("LOG_FORMAT", "json"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # RequestLogMiddleware writes one line per request; Django's own 4xx/5xx lines would repeat it.
        "django.request": {"level": "ERROR"},
        # Its start-up banner and a line per login would be noise; failures and lockouts still log.
        "axes": {"level": "WARNING"},
    },
}

# HTTPS. Production runs behind a proxy that terminates TLS; plain-http local runs
# (`make run`, tests) keep these off. `manage.py check --deploy` (run by scripts/deploy)
# fails until they are set; docs/production.env.example is a complete production set.
HTTPS_ONLY = env_bool("HTTPS_ONLY")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS_ONLY)
# Load balancers probe /health over plain http.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS_ONLY)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS_ONLY)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
# Trust X-Forwarded-Proto only when a proxy we run sets it (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO") else None
SESSION_COOKIE_HTTPONLY = True
# Nothing reads the CSRF cookie from JavaScript; forms carry the token.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: no inline script anywhere (JSON-LD data blocks are not
# scripts and are allowed); post images may come from any https host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Operations (see README.md, "Deploying"). The release being served is read from the
# RELEASE file that scripts/deploy writes; RELEASE_ID is for setups without that file.
RELEASE_FILE = BASE_DIR / "RELEASE"
# /metrics answers only requests carrying `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off (404).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Review queue: a reviewer's claim on a post lapses after this many minutes (others may then take the post).
REVIEW_CLAIM_MINUTES = int(os.environ.get("REVIEW_CLAIM_MINUTES", "30"))

# Similar Posts' ranking is kept this long in the shared cache (posts/similar.py): how long a newly
# published post may take to join other articles' lists when they render.
SIMILAR_POSTS_SECONDS = int(os.environ.get("SIMILAR_POSTS_SECONDS", "3600"))
