"""Shared fixtures: the sample record, real subprocesses against the test database."""

import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from alphanode.ops.logformat import JsonFormatter

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_JSON = FIXTURES / "seed-4577.json"
SAMPLE_JSONL = FIXTURES / "seed-4577.jsonl"
SAMPLE_RENDERED = FIXTURES / "seed-4577.rendered.txt"


def pytest_configure(config):
    # Tests get their own cache: a fresh directory for the file cache, a fresh
    # key prefix on Redis, so they never read or purge a running site's pages.
    run = uuid.uuid4().hex[:8]
    cache = settings.CACHES["default"]
    if cache["BACKEND"].endswith("FileBasedCache"):
        cache["LOCATION"] = tempfile.mkdtemp(prefix="alphanode-test-cache-")
    cache["KEY_PREFIX"] = f"alphanode-test-{run}"
    os.environ["CACHE_KEY_PREFIX"] = cache["KEY_PREFIX"]
    settings.PAGECACHE["KEY_PREFIX"] = cache["KEY_PREFIX"]
    # Django's test client talks to "testserver"; pages render absolute URLs for SITE_URL.
    settings.SITE_URL = "http://testserver"
    # Failed purges are retried after requests only in the tests of that (an extra query
    # at a random request would upset the tests that count queries).
    settings.PAGECACHE["RETRY_SECONDS"] = 24 * 3600
    if settings.PAGECACHE["BACKEND"] == "sqlite":
        settings.PAGECACHE["LOCATION"] = os.path.join(tempfile.mkdtemp(prefix="alphanode-test-pages-"), "pages.sqlite3")
    # In-process tests render templates without running collectstatic first; the hashed,
    # compressed storage is tested through real servers (tests/test_serving.py).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def sample_record() -> dict:
    return json.loads(SAMPLE_JSON.read_text())


def database_url() -> str:
    """A URL for the test database, for processes the tests start."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    return f"postgres://{config['USER']}{password}@{config['HOST']}:{config['PORT'] or 5432}/{config['NAME']}"


def subprocess_env(**extra) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url(), "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]}
    if settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
        env["ALPHANODE_CACHE_DIR"] = str(settings.CACHES["default"]["LOCATION"])
    if settings.PAGECACHE["BACKEND"] == "sqlite":
        env["PAGECACHE_PATH"] = str(settings.PAGECACHE["LOCATION"])
    env.update(extra)
    return env


@pytest.fixture
def manage():
    """Run manage.py in a real subprocess against the test database (use with transactional_db)."""

    def run(*args: str, stdin: bytes | None = None, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=subprocess_env(),
            input=stdin,
            capture_output=True,
            timeout=kwargs.pop("timeout", 300),
            **kwargs,
        )

    return run


@pytest.fixture(scope="session", autouse=True)
def collected_static(tmp_path_factory):
    """Static files collected once (hashed, compressed names), as pages link to them in production."""
    from django.core.management import call_command
    from django.test import override_settings

    static_root = tmp_path_factory.mktemp("staticfiles")
    # The production storage, whatever in-process tests use: servers started by tests read its manifest.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=static_root, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield static_root


@pytest.fixture
def two_servers(transactional_db, collected_static, tmp_path):
    """Two gunicorns (two workers each) on the test database, sharing the page-cache store."""
    from tests.gunicorn_server import start_gunicorn

    env = subprocess_env(ALLOWED_HOSTS="127.0.0.1", STATIC_ROOT=str(collected_static), SITE_URL="http://127.0.0.1")
    servers = [start_gunicorn(env, tmp_path / f"server-{n}.log") for n in (1, 2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def page_cache_off(settings):
    """For tests that measure a view's own work (query counts): every request renders."""
    settings.PAGECACHE = {**settings.PAGECACHE, "ENABLED": False}


@pytest.fixture(autouse=True)
def quiet_schedule_clock(monkeypatch):
    """The request path reads the next scheduled event only when a test asks (see tests/test_scheduling.py),
    so that query counts do not depend on how long a test took."""
    from posts import scheduling

    monkeypatch.setattr(scheduling.clock, "seconds", 3600.0)
    scheduling.clock.reset()


@pytest.fixture(autouse=True)
def empty_page_cache(monkeypatch):
    """Each test starts with an empty page cache and no request timings in memory: the database
    is rolled back between tests, so what the process holds must be too."""
    from alphanode.ops import timings
    from alphanode.pagecache import cache as pagecache_cache
    from posts import similar

    timings.recorder.clear()
    # In-process requests flush their timings by count only: a flush on the clock (every 5 s)
    # would land inside whichever query-counting request runs then on a slow machine.
    monkeypatch.setattr(timings, "FLUSH_SECONDS", 3600.0)
    pagecache_cache.reset()
    pagecache_cache.page_cache().purge_all()
    # Post ids repeat between tests (SQLite reuses them after a rollback): no ranking carries over.
    monkeypatch.setattr(similar, "KEY_PREFIX", f"similar:test-{uuid.uuid4().hex}")
    yield
    pagecache_cache.reset()


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def capture():
    """capture("logger.name") -> a handler whose .lines are the JSON lines that logger wrote."""

    def attach(name: str) -> ListHandler:
        handler = ListHandler()
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        attached.append((logger, handler))
        return handler

    attached = []
    yield attach
    for logger, handler in attached:
        logger.removeHandler(handler)


@pytest.fixture
def purged(django_capture_on_commit_callbacks):
    """The PostChanges sent by posts_changed; wrap the write in `with purged.capture():`."""
    from posts.signals import posts_changed

    class Recorder(list):
        def capture(self):
            return django_capture_on_commit_callbacks(execute=True)

        def for_post(self, post_id: int) -> list:
            return [change for change in self if change.post_id == post_id]

    recorder = Recorder()

    def receive(sender, changes, **kwargs):
        recorder.extend(changes)

    posts_changed.connect(receive, dispatch_uid="tests-purged")
    yield recorder
    posts_changed.disconnect(dispatch_uid="tests-purged")
