"""The database down: 503 with Retry-After for pages not in the cache, stale copies for those that were."""

import time

import pytest

from tests.conftest import subprocess_env
from tests.factories import make_post
from tests.gunicorn_server import free_port, start_gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_while_the_database_is_down_pages_are_stale_copies_or_503(tmp_path, collected_static):
    static = {"STATIC_ROOT": str(collected_static)}
    post = make_post(1, flags={})
    other = make_post(2, flags={})
    # Pages stored by a healthy server, fresh for one second, kept a day after that.
    healthy = start_gunicorn(subprocess_env(PAGECACHE_SECONDS="1", **static), tmp_path / "healthy.log", workers=1)
    try:
        pages = {}
        for path in (post.get_absolute_url(), "/"):
            status, headers, body = healthy.get(path)
            assert (status, headers["x-cache"]) == (200, "MISS"), path
            pages[path] = body
    finally:
        healthy.stop()
    time.sleep(1.1)  # past their lifetime

    # The same site and page store, with its database on a port where nothing listens.
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/alphanode"
    down = start_gunicorn(
        subprocess_env(DATABASE_URL=closed, DATABASE_CONNECT_TIMEOUT="2", **static), tmp_path / "down.log", workers=1
    )
    try:
        for path, body in pages.items():
            status, headers, stale = down.get(path)
            assert (status, headers["x-cache"], stale) == (200, "STALE", body), path
            assert headers["cache-control"] == "public, max-age=0, s-maxage=0"
        for path in (other.get_absolute_url(), "/?page=2", "/search/?q=go"):
            status, headers, body = down.get(path)
            assert (status, headers["retry-after"], headers["cache-control"]) == (503, "30", "no-store"), path
            assert b"try again in a minute" in body
        assert down.get("/health")[0] == 503
        status, headers, _ = down.get("/admin/login/")
        assert status in (200, 503)  # the login form needs no database until it is posted
    finally:
        down.stop()
    assert "Internal Server Error" not in down.log()
