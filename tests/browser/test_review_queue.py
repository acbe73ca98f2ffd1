"""In a real browser: a reviewer signs in, opens the review queue and approves the sample post.

gunicorn serves the site from the test database (collectstatic first, so the
admin's CSS loads as in production); Playwright drives Debian's chromium.
The queue's screenshot is kept in test-artifacts/review-queue.png.
"""

import re
import socket
import subprocess
import sys
import time

import pytest

from posts.importing import import_records
from posts.models import Post, Revision
from tests.conftest import ROOT, SAMPLE_JSON, subprocess_env
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
OUTSIDE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")  # the sample's image host is unreachable here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_site(transactional_db, tmp_path):
    """gunicorn on a free port against the test database; yields its base URL."""
    env = subprocess_env(ALLOWED_HOSTS="127.0.0.1")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")  # a file, not a pipe: a full pipe would block the server
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "alphanode.wsgi", "--config", "gunicorn.conf.py"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start listening within 30 s"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_a_reviewer_approves_the_sample_post_in_the_queue(live_site):
    from playwright.sync_api import sync_playwright

    import_records([str(SAMPLE_JSON)], workers=1, reject_path=ROOT / "var" / "browser-test-rejects.jsonl")
    post = Post.objects.get()
    assert post.needs_human_review
    assert post not in Post.objects.indexable()
    reviewer = make_user("rita", "Reviewers")
    ARTIFACTS.mkdir(exist_ok=True)

    article = f"{live_site}{post.get_absolute_url()}"
    noindex = "meta[name=robots][content=noindex]"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        reader = browser.new_page()  # anonymous: served (and cached) by the page cache
        reader.route(OUTSIDE, lambda route: route.abort())
        assert reader.goto(article).headers["x-cache"] == "MISS"
        assert reader.locator(noindex).count() == 1
        assert reader.goto(article).headers["x-cache"] == "HIT"

        page = browser.new_page(viewport={"width": 1680, "height": 900})
        page.goto(f"{live_site}/admin/login/?next=/admin/")
        page.fill("#id_username", "rita")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_site}/admin/")
        assert "1 post waiting for a reviewer" in page.inner_text("#content")

        page.click("text=1 post waiting for a reviewer")
        page.wait_for_url(f"{live_site}/admin/posts/reviewqueue/")
        row = page.inner_text("#result_list tbody tr")
        assert post.title in row
        assert "needs review" in row and "AI style" in row
        assert "554,931" in row  # views, most-read first
        # The admin's and the queue's stylesheets were served (collectstatic, whitenoise).
        assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") == "flex"
        badge = page.evaluate("getComputedStyle(document.querySelector('.editorial-reason')).display")
        assert badge == "inline-block"
        page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)

        page.click(f"#result_list a:has-text('{post.title}')")
        assert "flagged for human review by the generator" in page.inner_text("#content")
        page.click("button[value=approve]")
        page.wait_for_url(f"{live_site}/admin/posts/reviewqueue/")
        assert "Approved: the post is indexable" in page.inner_text(".messagelist")
        assert "0 review queue" in page.inner_text("#changelist-form")

        # The approval purged the cached article: readers get it fresh, indexable, and in the sitemap.
        fresh = reader.goto(article)
        assert fresh.headers["x-cache"] == "MISS"
        assert reader.locator(noindex).count() == 0
        sitemap = reader.goto(f"{live_site}/sitemap-posts.xml")
        assert post.get_absolute_url() in sitemap.text()
        browser.close()

    post.refresh_from_db()
    assert post.needs_human_review is False
    assert post.reviewed_by == reviewer
    assert post in Post.objects.indexable()
    approval = post.revisions.first()
    assert (approval.reason, approval.approved, approval.author) == (Revision.Reason.REVIEW, True, reviewer)
