"""The site under a real gunicorn on a free port, against the test database, and Chromium through Playwright.

Debian's chromium is the browser (`make deps-browser` installs it; never
`playwright install`). Data a browser test needs is written and committed
through the real write path by a module fixture (`committed_posts`), because
gunicorn reads the database from another process; it is deleted afterwards.
"""

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright
from taggit.models import Tag

from alphanode.pagecache.models import PurgeLog
from posts.models import Entity, Post
from tests.conftest import ROOT, subprocess_env
from tests.factories import write_records
from tests.gunicorn_server import free_port, start_gunicorn

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
# Anything not served by the site under test (the sample's placehold.co image) is refused at once.
OUTSIDE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


@pytest.fixture(scope="session")
def site_url(django_db_setup, collected_static, tmp_path_factory):
    """Base URL of gunicorn serving the site (DEBUG off, hashed static files) from the test database."""
    port = free_port()
    env = subprocess_env(
        SECRET_KEY="browser-tests-only-key",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(collected_static),
        # Its own address: canonical links and feeds point back at this server.
        SITE_URL=f"http://127.0.0.1:{port}",
    )
    server = start_gunicorn(env, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log", port=port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make deps-browser` (apt-get install chromium)")
    # Playwright's sync API keeps an event loop in this thread, and Django then refuses
    # database calls as if they came from async code; ours stay synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.route(OUTSIDE, lambda route: route.abort())
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def committed_posts(request, django_db_setup, django_db_blocker):
    """Write the module's RECORDS (committed, so gunicorn sees them); delete every post afterwards."""
    with django_db_blocker.unblock():
        write_records(*request.module.RECORDS)
        yield {post.source_id: post for post in Post.objects.all()}
        Post.objects.all().delete()
        Entity.objects.all().delete()
        Tag.objects.all().delete()
        PurgeLog.objects.all().delete()  # the writes' purges ran at once (autocommit)
        # Under Playwright's event loop Django keeps a separate connection for this
        # context; left open, it would stop the test database from being dropped.
        connections.close_all()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
