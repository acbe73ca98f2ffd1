"""Scheduled publishing on real app servers: two gunicorns (two workers each) sharing the database and page store.

No command runs and no timer exists: the servers notice the scheduled time on
their own requests. Before it, the post is a 404 and absent from every listing,
feed and the sitemap, served through the page cache; from that second on every
page on both servers shows it (and, for unpublish_at, no longer does).
"""

import datetime
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from posts import services
from posts.models import Post, Revision
from posts.querysets import sitemap_page_of
from tests.conftest import ROOT, subprocess_env
from tests.factories import make_record, write_records

pytestmark = pytest.mark.slow

LISTINGS = (
    "/",
    "/stack/python/",
    "/tools/pytest/",
    "/feeds/rss/",
    "/feeds/atom/",
    "/stack/python/rss/",
    "/tools/pytest/atom/",
)


def _shown(server, article: str, path: str) -> tuple[bool, str]:
    """(does this page show the post, X-Cache); for the article and its sitemap page: is it a 200."""
    status, headers, body = server.get(path)
    if path == article or path.startswith("/sitemap-posts.xml"):
        assert status in (200, 404), status
        if status == 404:
            return False, headers.get("x-cache", "")
    if path == article:
        return status == 200, headers.get("x-cache", "")
    assert status == 200, (path, status)
    return article.encode() in body, headers.get("x-cache", "")


def _watch(servers, post: Post, *, event_at: float, shown_after: bool) -> tuple[list[str], float]:
    """Read every page on both servers until 1.5 s past the event; returns the X-Caches seen before it and
    how long after the event the last page with the old content was served."""
    article = post.get_absolute_url()
    # The sitemap page of its block of ids: a 404 while it lists nothing (the post alone in its block).
    paths = (article, *LISTINGS, f"/sitemap-posts.xml?p={sitemap_page_of(post.pk)}")
    before_cache, last_wrong = [], 0.0
    while time.time() < event_at + 1.5:
        for server in servers:
            for path in paths:
                started = time.time()
                shown, cache = _shown(server, article, path)
                finished = time.time()
                if finished < event_at:
                    assert shown is not shown_after, f"{path} changed before its time"
                    before_cache.append(cache)
                elif started >= event_at and shown is not shown_after:
                    last_wrong = max(last_wrong, started - event_at)
                    assert started < event_at + 1.0, (
                        f"{path} still had the old content {started - event_at:.2f} s after"
                    )
    return before_cache, last_wrong


def test_a_post_goes_live_and_comes_down_at_its_second_on_two_servers(two_servers):
    write_records(make_record(1, stack=["python"], tools=["pytest"], flags={}))
    write_records(make_record(2, stack=["python"], tools=["pytest"], flags={}), new_state=Post.State.DRAFT)
    post = Post.objects.get(source_id="test-000002")

    publish_at = timezone.now() + datetime.timedelta(seconds=2)
    services.post_set_schedule(post.pk, publish_at=publish_at, unpublish_at=None)
    before_cache, late = _watch(two_servers, post, event_at=publish_at.timestamp(), shown_after=True)
    assert "HIT" in before_cache  # the "before" pages came through the page cache
    print(f"publish: last old page served {late * 1000:.0f} ms after publish_at")
    assert Revision.objects.filter(post=post, reason=Revision.Reason.SCHEDULE).count() == 1
    assert Post.objects.get(pk=post.pk).publish_at is None

    unpublish_at = timezone.now() + datetime.timedelta(seconds=2)
    services.post_set_schedule(post.pk, publish_at=None, unpublish_at=unpublish_at)
    before_cache, late = _watch(two_servers, post, event_at=unpublish_at.timestamp(), shown_after=False)
    assert "HIT" in before_cache
    print(f"unpublish: last old page served {late * 1000:.0f} ms after unpublish_at")
    assert Revision.objects.filter(post=post, reason=Revision.Reason.SCHEDULE).count() == 2
    assert Post.objects.get(pk=post.pk).state == Post.State.DRAFT


RACER = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")
django.setup()
from posts.scheduling import apply_due
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
print(len(apply_due(wait=True)))
"""


def test_two_processes_racing_past_the_time_write_one_revision(transactional_db):
    write_records(make_record(1), new_state=Post.State.DRAFT)
    post = Post.objects.get()
    publish_at = timezone.now() + datetime.timedelta(seconds=3)
    services.post_set_schedule(post.pk, publish_at=publish_at, unpublish_at=None)
    start = str(publish_at.timestamp() + 0.05)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, start], cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    applied = sorted(int(racer.communicate(timeout=60)[0].strip()) for racer in racers)
    assert applied == [0, 1]
    assert Revision.objects.filter(post=post, reason=Revision.Reason.SCHEDULE).count() == 1
