"""The edge: real varnishd running deploy/varnish/alphanode.vcl in front of a real gunicorn, purged by tag.

`make test` installs Debian's varnish and varnish-modules when missing (make deps-varnish).
"""

import gzip
import time
from io import StringIO

import pytest
from django.core.management import call_command

from alphanode.pagecache import edges
from alphanode.pagecache.cache import CachedPage, PageCache
from alphanode.pagecache.models import PurgeLog
from alphanode.pagecache.purge import purge, retry_failed
from alphanode.pagecache.stores import SqliteStore
from posts.models import Post
from tests.conftest import subprocess_env
from tests.factories import edit_post, make_posts
from tests.gunicorn_server import free_port, start_gunicorn
from tests.varnish_server import start_varnish

pytestmark = pytest.mark.slow


@pytest.fixture
def app_env(collected_static):
    return subprocess_env(ALLOWED_HOSTS="127.0.0.1", STATIC_ROOT=str(collected_static), SITE_URL="http://127.0.0.1")


@pytest.fixture
def app(transactional_db, app_env, tmp_path):
    server = start_gunicorn(app_env, tmp_path / "app.log", workers=1)
    yield server
    server.stop()


@pytest.fixture
def edge(app, tmp_path, settings):
    varnish = start_varnish(tmp_path / "edge", [app.port])
    settings.EDGE_PURGE_URLS = [varnish.purge_url]
    settings.EDGE_SETTLE_SECONDS = 0
    yield varnish
    varnish.stop()


def cache_state(edge, path: str, **headers) -> str:
    status, response, _ = edge.get(path, headers)
    assert status in (200, 404), (path, status)
    return response["x-edge-cache"]


def test_a_reader_page_is_a_miss_then_a_hit_with_the_apps_tags(edge):
    post = make_posts(1)[0]
    path = post.get_absolute_url()

    status, first, body = edge.get(path)
    assert (status, first["x-edge-cache"]) == (200, "MISS")
    assert f"post:{post.pk}" in first["surrogate-key"].split()
    assert first["cache-tag"].split(",") == first["surrogate-key"].split()
    assert "xkey" not in first

    status, second, again = edge.get(path)
    assert (status, second["x-edge-cache"], again) == (200, "HIT", body)
    # Parameters the app ignores are dropped at the edge too: the same entry.
    assert cache_state(edge, f"{path}?utm_source=feed&ref=x") == "HIT"
    assert cache_state(edge, "/?utm_source=feed") == "MISS"
    assert cache_state(edge, "/") == "HIT"


def test_editors_pass_and_other_cookies_are_stripped(edge):
    path = make_posts(1)[0].get_absolute_url()
    edge.get(path)

    status, response, _ = edge.get(path, {"Cookie": "sessionid=abc123"})
    assert (status, response["x-edge-cache"], response["x-cache"]) == (200, "PASS", "BYPASS")
    assert response["cache-control"] == "private, no-store"
    assert cache_state(edge, path, Cookie="csrftoken=x; _ga=GA1.2.3") == "HIT"
    assert cache_state(edge, "/admin/login/") == "PASS"


def test_the_page_is_stored_gzipped_once_and_unzipped_for_clients_without_gzip(edge):
    path = make_posts(1)[0].get_absolute_url()
    _, zipped_headers, zipped = edge.get(path, {"Accept-Encoding": "gzip"})
    assert zipped_headers["content-encoding"] == "gzip"
    _, plain_headers, plain = edge.get(path)
    assert plain_headers["x-edge-cache"] == "HIT"  # the same object, not a second variant
    assert "content-encoding" not in plain_headers
    assert gzip.decompress(zipped) == plain


def test_an_edit_purges_exactly_the_pages_carrying_its_tags(edge):
    posts = make_posts(6, tools=["git"])
    others = make_posts(4, start=50, tools=["docker"], stack=["go"])
    paths = [post.get_absolute_url() for post in posts + others] + ["/", "/tools/git/", "/tools/docker/", "/stack/go/"]
    paths += ["/feeds/rss/", "/tools/docker/atom/", "/sitemap.xml"]
    tags = {}
    for path in paths:
        _, response, _ = edge.get(path)
        assert response["x-edge-cache"] == "MISS", path
        tags[path] = set(response["surrogate-key"].split())

    edit_post(posts[0], title="An edited title that readers must see at once")

    log = PurgeLog.objects.latest("created_at")
    purged = set(log.tags.split())
    evicted = {path for path in paths if tags[path] & purged}
    assert posts[0].get_absolute_url() in evicted
    assert set(paths) - evicted, "an edit of one post evicted every page"
    for path in paths:
        assert cache_state(edge, path) == ("MISS" if path in evicted else "HIT"), path
    # xkey's count is of index hits (an object under two purged tags may count twice), not pages.
    assert log.succeeded and log.edges.startswith(f"{edge.purge_url}: ") and log.pages == len(evicted)
    _, _, body = edge.get(posts[0].get_absolute_url())
    assert b"An edited title that readers must see at once" in body


def test_a_long_tag_list_is_sent_in_parts(edge):
    post = make_posts(1)[0]
    edge.get(post.get_absolute_url())
    many = [f"post:{n}" for n in range(100_000, 101_000)] + [f"post:{post.pk}"]
    assert len(edges._parts(many)) > 1
    result = purge(tags=many, reason="many tags")
    assert result.edge.outcomes == {edge.purge_url: "1 objects"}
    assert cache_state(edge, post.get_absolute_url()) == "MISS"


def test_purge_everything_empties_the_edge(edge):
    post = make_posts(1)[0]
    for path in (post.get_absolute_url(), "/"):
        edge.get(path)
    assert purge(everything=True, reason="all").succeeded
    assert cache_state(edge, post.get_absolute_url()) == "MISS"
    assert cache_state(edge, "/") == "MISS"


def test_soft_purge_serves_the_old_page_once_while_it_refetches(edge, settings):
    settings.EDGE_SOFT_PURGE = True
    post = make_posts(1)[0]
    path = post.get_absolute_url()
    edge.get(path)

    edit_post(post, title="A softly purged title")

    assert PurgeLog.objects.latest("created_at").edges == f"{edge.purge_url}: 1 objects"
    _, _, stale = edge.get(path)
    assert b"A softly purged title" not in stale
    deadline = time.monotonic() + 1
    while b"A softly purged title" not in edge.get(path)[2]:
        assert time.monotonic() < deadline, "the refetched page did not arrive within 1 s"
        time.sleep(0.02)


def test_the_settle_pass_purges_again_what_was_fetched_during_the_purge(edge, settings):
    settings.EDGE_SETTLE_SECONDS = 0.3
    post = make_posts(1)[0]
    path = post.get_absolute_url()
    purge(tags=[f"post:{post.pk}"], reason="settle")
    assert cache_state(edge, path) == "MISS"  # as if fetched while the purge ran
    assert cache_state(edge, path) == "HIT"
    time.sleep(0.8)
    assert cache_state(edge, path) == "MISS"


def test_grace_serves_pages_while_the_app_servers_are_down(transactional_db, app_env, tmp_path):
    app = start_gunicorn({**app_env, "PAGECACHE_SECONDS": "1"}, tmp_path / "app.log", workers=1)
    edge = start_varnish(tmp_path / "edge", [app.port], quick=True)
    try:
        path = make_posts(1)[0].get_absolute_url()
        _, _, body = edge.get(path)
        app.stop()
        # Expired (1 s), past the healthy grace (1 s in the quick VCL), the probe sees the app down.
        time.sleep(3.5)
        status, response, stale = edge.get(path)
        assert (status, stale, response["x-edge-cache"]) == (200, body, "HIT")
        assert int(response["age"]) >= 3
        assert edge.get("/never-cached/")[0] == 503
    finally:
        edge.stop()
        app.stop()


def test_a_purge_from_an_address_outside_the_acl_is_refused(app, tmp_path, settings):
    # This edge allows only 192.0.2.1 (TEST-NET): the tests' 127.0.0.1 is outside.
    edge = start_varnish(tmp_path / "strict", [app.port], purgers=("192.0.2.1",))
    try:
        path = make_posts(1)[0].get_absolute_url()
        edge.get(path)
        with pytest.raises(edges.EdgeError, match="403"):
            edges.VarnishEdge(edge.purge_url).purge([f"post:{Post.objects.get().pk}"], soft=False)
        # The ACL reads client.ip: a forwarded-for header claiming an allowed address changes nothing.
        forged = edges.VarnishEdge(edge.purge_url)
        with pytest.raises(edges.EdgeError, match="403"):
            forged._send({"xkey-purge": "list:home", "X-Forwarded-For": "192.0.2.1"})
        assert cache_state(edge, path) == "HIT"
    finally:
        edge.stop()


def test_a_failed_edge_purge_is_logged_and_retried_until_it_succeeds(edge, app, tmp_path, settings):
    post = make_posts(1)[0]
    edge.get(post.get_absolute_url())
    down = free_port()
    down_url = f"http://127.0.0.1:{down}/"
    settings.EDGE_PURGE_URLS = [edge.purge_url, down_url]

    result = purge(tags=[f"post:{post.pk}"], reason="one edge down", attempts=2)

    assert not result.succeeded
    log = PurgeLog.objects.get(reason="one edge down")
    assert (log.succeeded, log.edges_pending) == (False, down_url)
    assert f"{edge.purge_url}: 1 objects" in log.edges and "Connection refused" in log.error
    assert cache_state(edge, post.get_absolute_url()) == "MISS"  # the edge that answered is purged

    assert retry_failed() == 0  # still down: kept
    assert PurgeLog.objects.get(pk=log.pk).succeeded is False
    second = start_varnish(tmp_path / "second", [app.port], port=down)
    try:
        assert retry_failed() == 1
        log.refresh_from_db()
        assert (log.succeeded, log.edges_pending, log.error) == (True, "", "")
        assert f"{down_url}: 0 objects" in log.edges
    finally:
        second.stop()


def test_a_failed_store_purge_leaves_every_edge_pending(settings):
    settings.EDGE_PURGE_URLS = ["http://127.0.0.1:9/", "http://127.0.0.1:10/"]
    outcome = edges.not_purged("store down")
    assert outcome.pending == settings.EDGE_PURGE_URLS and not outcome.succeeded
    assert "not tried: store down" in outcome.summary()


def test_an_edge_fetch_rereads_the_purge_generation_instead_of_the_workers_copy(tmp_path):
    store = SqliteStore(tmp_path / "pages.sqlite3", max_entries=100)
    worker = PageCache(store, local_entries=10, local_seconds=60)
    elsewhere = PageCache(store, local_entries=10, local_seconds=60)
    since = worker.generation(fresh=True)
    page = CachedPage(200, [], b"old", time.time(), '"e"', ["post:1"], expires=time.time() + 60)
    worker.set("/a/", page, ttl=60, since=since)
    elsewhere.purge(["post:1"])
    assert worker.get("/a/").body == b"old"  # a reader may get this worker's copy for local_seconds
    assert worker.get("/a/", fresh=True) is None  # an edge, which keeps what it gets, never does


def test_purge_cache_reports_each_edge(edge):
    post = make_posts(1)[0]
    edge.get(post.get_absolute_url())
    out = StringIO()
    call_command("purge_cache", "--tag", f"post:{post.pk}", stdout=out)
    assert out.getvalue().splitlines() == ["purged 1 page(s)", f"edge {edge.purge_url}: 1 objects"]
