"""/health: 200 when everything is up; 503 naming the database, the cache or the migrations."""

import json

import pytest
from django.db import connection
from django.test import Client

from alphanode.ops import health
from tests.conftest import subprocess_env
from tests.gunicorn_server import free_port, start_gunicorn


def get_health():
    return Client().get("/health", HTTP_HOST="localhost")


@pytest.mark.django_db
def test_healthy_answers_200_with_every_check_and_the_release():
    response = get_health()
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["failed"] == []
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "cache": True,
        "migrations": True,
    }
    assert body["release"]["id"]
    assert "deployed_at" in body["release"]


@pytest.mark.django_db
def test_health_is_never_cached():
    cache_control = get_health().headers["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control


@pytest.mark.django_db
def test_a_migration_not_applied_is_named():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'posts' AND name = '0007_operations'")
    response = get_health()
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert body["checks"]["migrations"]["pending"] == ["posts.0007_operations"]


def test_release_comes_from_the_release_file(tmp_path, settings):
    from alphanode.ops import releases

    release_file = tmp_path / "RELEASE"
    release_file.write_text(json.dumps({"id": "r42", "commit": "abc", "deployed_at": "2026-01-31T12:00:00Z"}))
    settings.RELEASE_FILE = release_file
    releases.current_release.cache_clear()
    try:
        assert releases.current_release() == {"id": "r42", "commit": "abc", "deployed_at": "2026-01-31T12:00:00Z"}
    finally:
        releases.current_release.cache_clear()


@pytest.mark.django_db
def test_checks_are_plain_functions():
    assert health.check_database().ok is True
    assert health.check_cache().ok is True
    assert health.check_migrations().ok is True


def closed_port_url(scheme: str, password: str = "") -> str:
    credentials = f"postgres:{password}@" if password else ""
    return f"{scheme}://{credentials}127.0.0.1:{free_port()}/alphanode"


@pytest.fixture
def server_with(tmp_path):
    servers = []

    def start(**env):
        server = start_gunicorn(
            subprocess_env(ALLOWED_HOSTS="127.0.0.1,localhost", **env), tmp_path / "gunicorn.log", workers=1
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_unreachable_postgresql_answers_503_naming_the_database(server_with):
    server = server_with(DATABASE_URL=closed_port_url("postgres", password="s3cret-pw"))
    status, headers, raw = server.get("/health")
    assert status == 503
    body = json.loads(raw)
    assert body["ok"] is False
    assert body["failed"] == ["database"]
    assert body["checks"]["database"]["error"] == "unreachable (OperationalError)"
    assert body["checks"]["migrations"]["ok"] is None  # not checked without a database
    assert b"s3cret-pw" not in raw
    assert "no-store" in headers["cache-control"]


@pytest.mark.django_db(transaction=True)
def test_unreachable_redis_answers_503_naming_the_cache(server_with):
    server = server_with(REDIS_URL=closed_port_url("redis"))
    status, _, raw = server.get("/health")
    assert status == 503
    body = json.loads(raw)
    assert body["failed"] == ["cache"]
    assert body["checks"]["database"]["ok"] is True
