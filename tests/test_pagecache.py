"""The page-cache middleware, stores and purges, on small tagged views (tests/pagecache_urls.py)."""

import os
import time

import pytest
from django.test import Client

from alphanode.pagecache import cache as pagecache_cache
from alphanode.pagecache import purge as pagecache_purge
from alphanode.pagecache.cache import CachedPage, PageCache
from alphanode.pagecache.models import PurgeLog
from alphanode.pagecache.stores import RedisStore, SqliteStore, StoreError
from alphanode.pagecache.tagging import path_tag
from posts import cache_tags
from posts.services import PostChange, PostPlacement
from tests.factories import make_post, make_record, write_records

pytestmark = pytest.mark.django_db

# The Redis store is tested on every run: the suite's Redis when it has one, else the local one
# (under this run's own key prefix either way).


@pytest.fixture(autouse=True)
def tagged_test_views(settings):
    settings.ROOT_URLCONF = "tests.pagecache_urls"


def stored_pages() -> int:
    return pagecache_cache.page_cache().store.count()


def test_miss_then_hit_with_cache_headers(client):
    post = make_post(1)
    path = f"/t/posts/{post.slug}/"
    first = client.get(path)
    assert first["X-Cache"] == "MISS"
    second = client.get(path)
    assert second["X-Cache"] == "HIT"
    assert second.content == first.content
    assert second["Cache-Control"] == "public, max-age=60, s-maxage=86400"
    assert int(second["Age"]) >= 0
    assert second["ETag"] == first["ETag"]
    assert "Last-Modified" in second
    assert set(second["Surrogate-Key"].split()) == {f"post:{post.pk}", f"slug:{post.slug}", path_tag(path)}


def test_etag_and_last_modified_answer_304(client):
    post = make_post(1)
    path = f"/t/posts/{post.slug}/"
    etag = client.get(path)["ETag"]
    not_modified = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    changed = client.get(path, HTTP_IF_NONE_MATCH='"other"')
    assert changed.status_code == 200


def test_logged_in_request_bypasses_and_leaves_the_cache_untouched(client, django_user_model):
    post = make_post(1)
    path = f"/t/posts/{post.slug}/"
    editor = Client()
    editor.force_login(django_user_model.objects.create_user("editor", is_staff=True))
    response = editor.get(path)
    assert response["X-Cache"] == "BYPASS"
    assert response["Cache-Control"] == "private, no-store"
    assert stored_pages() == 0
    anonymous = client.get(path)
    assert anonymous["X-Cache"] == "MISS"
    assert client.get(path)["X-Cache"] == "HIT"
    assert editor.get(path)["X-Cache"] == "BYPASS"  # a cached page is never served to an editor


def test_query_parameters_outside_the_allowlist_make_no_new_entries(client):
    assert client.get("/t/echo/?q=django&utm_source=x")["X-Cache"] == "MISS"
    assert client.get("/t/echo/?utm_source=y&q=django")["X-Cache"] == "HIT"
    assert client.get("/t/echo/?q=django&q=other&nocache=1")["X-Cache"] == "HIT"
    response = client.get("/t/echo/?page=2&q=django&x=1")
    assert response["X-Cache"] == "MISS"
    assert response.content == b"[('page', ['2']), ('q', ['django'])]"  # the view never sees other parameters
    assert stored_pages() == 2


def test_host_header_never_decides_what_is_stored(client, settings):
    settings.SITE_URL = "https://alphanode.example"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "alphanode.example"]
    post = make_post(1)
    path = f"/t/posts/{post.slug}/"
    first = client.get(path, HTTP_HOST="localhost")
    second = client.get(path, HTTP_HOST="127.0.0.1")
    assert b"host alphanode.example" in first.content
    assert second["X-Cache"] == "HIT"
    assert client.get(path, HTTP_HOST="attacker.example").status_code == 400  # outside ALLOWED_HOSTS


@pytest.mark.parametrize("path", ["/t/cookie/", "/t/broken/", "/t/untagged/"])
def test_responses_that_must_not_be_stored(client, path):
    client.get(path)
    assert client.get(path)["X-Cache"] in ("MISS", "BYPASS")
    assert stored_pages() == 0


def test_posts_are_never_stored(client):
    client.post("/t/list/")
    assert stored_pages() == 0


def test_redirects_are_stored_and_404s_are_public_but_never_stored(client, django_capture_on_commit_callbacks):
    assert client.get("/t/moved/")["X-Cache"] == "MISS"
    assert client.get("/t/moved/")["X-Cache"] == "HIT"
    record = make_record(1)
    slug = "building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services-part-1"
    for _ in range(2):
        missing = client.get(f"/t/posts/{slug}/")
        assert (missing.status_code, missing["X-Cache"]) == (404, "MISS")
    # A CDN may keep it a few minutes, and purges it by the slug's tag when a post takes the slug.
    assert missing["Cache-Control"] == "public, max-age=60, s-maxage=300"
    assert f"slug:{slug}" in missing["Surrogate-Key"].split()
    assert stored_pages() == 1  # the redirect only
    with django_capture_on_commit_callbacks(execute=True):
        write_records(record)
    found = client.get(f"/t/posts/{slug}/")
    assert (found.status_code, found["X-Cache"]) == (200, "MISS")


def test_made_up_paths_do_not_fill_the_store(client):
    for number in range(50):
        assert client.get(f"/t/posts/no-such-post-{number}/").status_code == 404
        assert client.get(f"/no/such/route/{number}/").status_code == 404
    assert stored_pages() == 0


def test_editing_one_post_purges_exactly_the_pages_that_show_it(client, django_capture_on_commit_callbacks):
    first, second = make_post(1), make_post(2)
    routes = [f"/t/posts/{first.slug}/", f"/t/posts/{second.slug}/", "/t/list/", "/t/echo/?q=x"]
    for route in routes:
        assert client.get(route)["X-Cache"] == "MISS"
    with django_capture_on_commit_callbacks(execute=True):
        write_records(make_record(1, summary="edited"))
    log = PurgeLog.objects.get()
    assert log.succeeded
    assert log.pages == 2
    assert set(log.routes.splitlines()) == {routes[0], routes[2]}
    assert client.get(routes[0])["X-Cache"] == "MISS"
    assert client.get(routes[2])["X-Cache"] == "MISS"
    assert client.get(routes[1])["X-Cache"] == "HIT"
    assert client.get(routes[3])["X-Cache"] == "HIT"


def placement(slug="a", published=True, stack=(), tools=(), entities=(), topic="t"):
    return PostPlacement(slug, published, topic, frozenset(stack), frozenset(tools), frozenset(entities))


def test_tags_for_a_content_edit_are_the_post_and_its_route():
    change = PostChange(7, placement(stack={"go"}), placement(stack={"go"}))
    assert cache_tags.tags_for_change(change) == {"post:7", "slug:a", "list:sitemap", "list:sitemap:1", "list:search"}


def test_tags_when_a_post_joins_or_leaves_listings():
    new = PostChange(7, None, placement(stack={"go"}, tools={"git"}, entities={"area-x"}))
    assert cache_tags.tags_for_change(new) == {
        "slug:a", "list:sitemap", "list:sitemap:1", "list:search", "list:home", "list:feed",
        "list:stack:go", "list:tools:git", "list:entity:area-x", "list:topic:t",
    }  # fmt: skip
    retagged = PostChange(7, placement(stack={"go", "rust"}), placement(stack={"go", "zig"}, slug="b"))
    assert cache_tags.tags_for_change(retagged) == {
        "post:7", "slug:a", "slug:b", "list:sitemap", "list:sitemap:1", "list:search", "list:stack:rust",
        "list:stack:zig",
    }  # fmt: skip
    draft = PostChange(7, placement(published=False), placement(published=False, slug="c"))
    assert cache_tags.tags_for_change(draft) == {"post:7", "slug:a", "slug:c"}
    unpublished = PostChange(7, placement(stack={"go"}), placement(published=False, stack={"go"}))
    assert {"list:home", "list:feed", "list:stack:go"} <= cache_tags.tags_for_change(unpublished)
    # The sitemap page of posts is the block of ids the post is in.
    later = PostChange(10_001, placement(), placement())
    assert {"list:sitemap", "list:sitemap:2"} <= cache_tags.tags_for_change(later)
    assert "list:sitemap:1" not in cache_tags.tags_for_change(later)


# The SQLite run needs no server: Redis stores are tested where REDIS_URL names one (CI's second run).
STORES = ["sqlite", "redis"] if os.environ.get("REDIS_URL") else ["sqlite"]


@pytest.fixture(params=STORES)
def store(request, tmp_path, settings):
    if request.param == "sqlite":
        return SqliteStore(tmp_path / "pages.sqlite3", max_entries=1000)
    redis_store = RedisStore(
        os.environ["REDIS_URL"], settings.PAGECACHE["KEY_PREFIX"] + "-store-test", max_entries=1000
    )
    redis_store.purge_all()
    return redis_store


def page(body: bytes, *tags: str) -> CachedPage:
    return CachedPage(200, [("Content-Type", "text/html")], body, time.time(), '"e"', list(tags), time.time() + 60)


def test_a_render_that_raced_a_purge_is_not_stored(store):
    cache = PageCache(store, local_entries=10, local_seconds=0)
    since = cache.generation(fresh=True)
    cache.purge(["post:1"])  # an edit commits while the page renders from the old data
    assert cache.set("/a/", page(b"old", "post:1"), ttl=60, since=since) is False
    assert cache.get("/a/") is None
    assert cache.set("/b/", page(b"other", "post:2"), ttl=60, since=since) is True


def test_purge_removes_only_pages_whose_current_render_has_the_tag(store):
    cache = PageCache(store, local_entries=10, local_seconds=0)
    since = cache.generation(fresh=True)
    cache.set("/a/", page(b"v1", "post:1", "post:2"), ttl=60, since=since)
    assert cache.purge(["post:1"]) == ["/a/"]
    since = cache.generation(fresh=True)
    cache.set("/a/", page(b"v2", "post:1"), ttl=60, since=since)  # no longer shows post 2
    assert cache.purge(["post:2"]) == []
    assert cache.get("/a/").body == b"v2"


def test_other_processes_see_a_purge_within_their_local_window(store):
    reader = PageCache(store, local_entries=10, local_seconds=0.3)
    writer = PageCache(store, local_entries=10, local_seconds=0.3)
    since = reader.generation(fresh=True)
    reader.set("/a/", page(b"v1", "post:1"), ttl=60, since=since)
    assert reader.get("/a/").body == b"v1"
    writer.purge(["post:1"])
    deadline = time.monotonic() + 1
    while reader.get("/a/") is not None:
        assert time.monotonic() < deadline, "the purge never reached the other process"
        time.sleep(0.02)


def test_failed_purge_is_recorded_and_retried_later(settings):
    working = dict(settings.PAGECACHE)
    settings.PAGECACHE = {**working, "BACKEND": "redis", "LOCATION": "redis://127.0.0.1:1/0"}  # nothing listens
    pagecache_cache.reset()
    result = pagecache_purge.purge(tags=["post:1"], reason="test", attempts=2)
    assert result.succeeded is False
    failed = PurgeLog.objects.get()
    assert (failed.succeeded, failed.attempts, failed.tags) == (False, 2, "post:1")
    assert "redis" in failed.error
    settings.PAGECACHE = working
    pagecache_cache.reset()
    assert pagecache_purge.purge(tags=["post:2"], reason="next").succeeded
    failed.refresh_from_db()
    assert failed.succeeded is True
    assert failed.attempts == 3


def test_store_errors_surface_as_store_error(tmp_path):
    with pytest.raises(StoreError):
        RedisStore("redis://127.0.0.1:1/0", "x", max_entries=10).generation()


def test_purge_cache_and_purge_posts_commands(client):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    first, second = make_post(1), make_post(2)
    routes = [f"/t/posts/{first.slug}/", f"/t/posts/{second.slug}/", "/t/list/", "/t/echo/?q=x"]
    for route in routes:
        client.get(route)
    out = StringIO()
    call_command("purge_cache", "--route", "/t/echo/", stdout=out)
    assert out.getvalue().strip() == "purged 1 page(s)"
    call_command("purge_posts", second.source_id, stdout=out)
    assert client.get(routes[1])["X-Cache"] == "MISS"
    assert client.get(routes[0])["X-Cache"] == "HIT"
    call_command("purge_cache", "--tag", "list:home", stdout=out)
    assert client.get(routes[2])["X-Cache"] == "MISS"
    call_command("purge_cache", "--all", stdout=out)
    assert stored_pages() == 0
    assert PurgeLog.objects.count() == 4
    with pytest.raises(CommandError, match="no post"):
        call_command("purge_posts", "nope")
    with pytest.raises(CommandError, match="say what to purge"):
        call_command("purge_cache")


def test_switched_off_every_request_renders(client, settings):
    settings.PAGECACHE = {**settings.PAGECACHE, "ENABLED": False}
    client.get("/t/list/")
    assert client.get("/t/list/")["X-Cache"] == "BYPASS"
    assert stored_pages() == 0


# -- the store's size is bounded ------------------------------------------------


@pytest.fixture(params=STORES)
def small_store(request, tmp_path, settings):
    if request.param == "sqlite":
        return SqliteStore(tmp_path / "pages.sqlite3", max_entries=5)
    redis_store = RedisStore(os.environ["REDIS_URL"], settings.PAGECACHE["KEY_PREFIX"] + "-bound-test", max_entries=5)
    redis_store.purge_all()
    return redis_store


def test_a_full_store_evicts_the_pages_stored_longest_ago(small_store):
    since = small_store.generation()
    for number in range(12):
        assert small_store.set(f"/p/{number}/", b"x", [f"post:{number}", "list:home"], 60, since)
    assert small_store.count() == 5
    assert [number for number in range(12) if small_store.get(f"/p/{number}/")] == [7, 8, 9, 10, 11]
    # Evicted pages left the tag index too: purging their tags finds nothing.
    assert small_store.purge(["post:3"])[1] == []
    # Storing a page again makes it the newest.
    small_store.set("/p/7/", b"y", ["post:7", "list:home"], 60, small_store.generation())
    for number in range(12, 16):
        small_store.set(f"/p/{number}/", b"x", [f"post:{number}", "list:home"], 60, small_store.generation())
    assert [number for number in range(16) if small_store.get(f"/p/{number}/")] == [7, 12, 13, 14, 15]
    assert small_store.purge(["list:home"])[1] == sorted(f"/p/{number}/" for number in (7, 12, 13, 14, 15))
    assert small_store.count() == 0


def test_the_setting_bounds_what_requests_can_store(client, settings):
    settings.PAGECACHE = {**settings.PAGECACHE, "MAX_ENTRIES": 3}
    pagecache_cache.reset()
    for number in range(20):
        assert client.get(f"/t/echo/?q=search-{number}")["X-Cache"] == "MISS"
    assert stored_pages() == 3
    assert client.get("/t/echo/?q=search-19")["X-Cache"] == "HIT"


def test_an_expired_page_is_served_stale_only_when_its_render_fails(client):
    cache = pagecache_cache.page_cache()
    created = time.time() - 100
    old = CachedPage(
        200, [("Content-Type", "text/plain")], b"last good copy", created, '"e"', ["list:home"], created + 10
    )
    cache.set("/t/broken/", old, ttl=10, since=cache.generation())
    stale = client.get("/t/broken/")
    assert (stale.status_code, stale.content, stale["X-Cache"]) == (200, b"last good copy", "STALE")
    assert stale["Cache-Control"] == "public, max-age=0, s-maxage=0"
    assert int(stale["Age"]) >= 100
    old.body = b"an old listing"
    cache.set("/t/list/", old, ttl=10, since=cache.generation())
    fresh = client.get("/t/list/")
    assert (fresh.status_code, fresh["X-Cache"]) == (200, "MISS")
    assert fresh.content != b"an old listing"
    assert client.get("/t/list/")["X-Cache"] == "HIT"


def health() -> dict:
    """/health's body (these tests route only the test views and the reader site)."""
    import json

    from django.test import RequestFactory

    from alphanode.ops.health import health_view

    return json.loads(health_view(RequestFactory().get("/health")).content)


def test_failed_purges_are_retried_by_themselves_once_the_store_answers(client, settings):
    post = make_post(1)
    path = f"/t/posts/{post.slug}/"
    client.get(path)
    working = settings.PAGECACHE
    settings.PAGECACHE = {**working, "BACKEND": "redis", "LOCATION": "redis://127.0.0.1:1/0"}  # nothing listens
    pagecache_cache.reset()
    assert pagecache_purge.purge(tags=[cache_tags.post_tag(post.pk)], reason="edited", attempts=1).succeeded is False
    assert health()["pending_purges"] == 1
    settings.PAGECACHE = {**working, "RETRY_SECONDS": 0}  # every request looks
    pagecache_cache.reset()
    assert client.get(path)["X-Cache"] == "HIT"  # the page the failed purge should have removed...
    # ...and once that response went out, the worker retried the purge.
    assert PurgeLog.objects.get().succeeded is True
    assert client.get(path)["X-Cache"] == "MISS"
    assert health()["pending_purges"] == 0


def test_workers_look_for_failed_purges_at_most_every_retry_seconds(settings, django_assert_num_queries):
    settings.PAGECACHE = {**settings.PAGECACHE, "RETRY_SECONDS": 0}
    with django_assert_num_queries(1):  # one EXISTS, nothing pending
        assert pagecache_purge.retry_failed_when_due() == 0
    settings.PAGECACHE = {**settings.PAGECACHE, "RETRY_SECONDS": 60}
    with django_assert_num_queries(0):
        assert pagecache_purge.retry_failed_when_due() == 0
