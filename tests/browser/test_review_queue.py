"""In a real browser: a reviewer signs in, opens the review queue and approves the sample post.

gunicorn serves the site from the test database (collectstatic first, so the
admin's CSS loads as in production); Playwright drives Debian's chromium.
The queue's screenshot is kept in test-artifacts/review-queue.png.
"""

import pytest

from posts.importing import import_records
from posts.models import Post, Revision
from posts.querysets import sitemap_page_of
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, OUTSIDE
from tests.conftest import ROOT, SAMPLE_JSON, subprocess_env
from tests.factories import PASSWORD, make_user
from tests.gunicorn_server import start_gunicorn

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def live_site(transactional_db, collected_static, tmp_path):
    """gunicorn on a free port against the test database; yields its base URL."""
    env = subprocess_env(ALLOWED_HOSTS="127.0.0.1", STATIC_ROOT=str(collected_static))
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=1)
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


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
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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
        sitemap = reader.goto(f"{live_site}/sitemap-posts.xml?p={sitemap_page_of(post.pk)}")
        assert post.get_absolute_url() in sitemap.text()
        browser.close()

    post.refresh_from_db()
    assert post.needs_human_review is False
    assert post.reviewed_by == reviewer
    assert post in Post.objects.indexable()
    approval = post.revisions.first()
    assert (approval.reason, approval.approved, approval.author) == (Revision.Reason.REVIEW, True, reviewer)
