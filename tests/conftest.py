"""Shared fixtures: the sample record, real subprocesses against the test database."""

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

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


@pytest.fixture
def plain_static_files(settings):
    """Static URLs without collectstatic's manifest, for pages rendered in-process (browser tests run collectstatic)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
