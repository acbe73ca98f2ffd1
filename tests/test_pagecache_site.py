"""The page cache on the real reader pages: what is served, bypassed and purged."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alphanode.pagecache import cache as pagecache_cache
from alphanode.pagecache.models import PurgeLog
from posts import services
from posts.models import Post
from posts.querysets import sitemap_page_of
from tests.factories import edit_post, make_post

pytestmark = pytest.mark.django_db

GO = {
    "stack": ["go microservices", "backend"],
    "tools": ["pprof"],
    "topic": "profiling / go",
    "entities": [{"name": "go microservices", "type": "stack"}],
}
RUST = {
    "stack": ["rust command line tools"],
    "tools": ["cargo"],
    "topic": "parsing / rust",
    "entities": [{"name": "rust command line tools", "type": "stack"}],
}


def stored_pages() -> int:
    return pagecache_cache.page_cache().store.count()


def test_article_miss_then_hit(client):
    post = make_post(1)
    assert client.get(post.get_absolute_url())["X-Cache"] == "MISS"
    hit = client.get(post.get_absolute_url())
    assert hit["X-Cache"] == "HIT"
    assert f"post:{post.pk}" in hit["Surrogate-Key"].split()


def test_a_logged_in_editor_bypasses_and_readers_never_see_editor_content(client):
    post = make_post(1)
    editor = Client()
    editor.force_login(User.objects.create_user("editor", is_staff=True))
    live = editor.get(post.get_absolute_url())
    assert live["X-Cache"] == "BYPASS"
    assert live["Cache-Control"] == "private, no-store"
    assert b"Edit in admin" in live.content
    assert stored_pages() == 0  # the editor's request stored nothing
    for expected in ("MISS", "HIT"):
        anonymous = client.get(post.get_absolute_url())
        assert anonymous["X-Cache"] == expected
        assert b"Edit in admin" not in anonymous.content


def test_editing_one_post_purges_exactly_the_pages_that_show_it(client, django_capture_on_commit_callbacks):
    edited, unrelated = make_post(1, **GO), make_post(2, **RUST)
    routes = {
        "edited article": edited.get_absolute_url(),
        "unrelated article": unrelated.get_absolute_url(),
        "home": "/",
        "edited stack": "/stack/go-microservices/",
        "edited tool": "/tools/pprof/",
        "unrelated stack": "/stack/rust-command-line-tools/",
        "unrelated tool": "/tools/cargo/",
        "feed": "/feeds/rss/",
    }
    for route in routes.values():
        response = client.get(route)
        assert (response.status_code, response["X-Cache"]) == (200, "MISS"), route
    with django_capture_on_commit_callbacks(execute=True):
        edit_post(edited, summary="a new summary for the go post")

    purged = set(PurgeLog.objects.get().routes.splitlines())
    assert purged == {routes[name] for name in ("edited article", "home", "edited stack", "edited tool", "feed")}
    for name, route in routes.items():
        expected = "MISS" if route in purged else "HIT"
        assert client.get(route)["X-Cache"] == expected, name
    assert b"a new summary for the go post" in client.get(routes["edited article"]).content


def test_a_new_post_purges_the_listings_it_joins_and_not_the_others(client, django_capture_on_commit_callbacks):
    make_post(1, **GO)
    make_post(2, **RUST)
    for route in ("/", "/stack/go-microservices/", "/stack/rust-command-line-tools/"):
        client.get(route)
    with django_capture_on_commit_callbacks(execute=True):
        make_post(3, **GO)
    assert client.get("/")["X-Cache"] == "MISS"
    assert client.get("/stack/go-microservices/")["X-Cache"] == "MISS"
    assert client.get("/stack/rust-command-line-tools/")["X-Cache"] == "HIT"


def test_after_a_slug_change_the_old_url_no_longer_serves_the_old_page(client, django_capture_on_commit_callbacks):
    post = make_post(1)
    old = post.get_absolute_url()
    assert client.get(old).status_code == 200
    assert client.get(old)["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        services.post_change_slug(post.pk, slug="a-better-address")
    assert client.get(old).status_code == 404
    moved = client.get("/posts/a-better-address/")
    assert (moved.status_code, moved["X-Cache"]) == (200, "MISS")


def test_unpublishing_takes_the_article_out_at_once(client, django_capture_on_commit_callbacks):
    post = make_post(1)
    client.get(post.get_absolute_url())
    client.get("/")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_set_state(post.pk, state=Post.State.DRAFT)
    assert client.get(post.get_absolute_url()).status_code == 404
    assert post.title.encode() not in client.get("/").content


def test_query_strings_outside_the_allowlist_make_no_new_entries(client):
    make_post(1)
    client.get("/")
    before = stored_pages()
    for query in ("?utm_source=newsletter", "?fbclid=abc", "?page=1&utm_medium=x", "?nocache=123"):
        response = client.get("/" + query)
        assert response["X-Cache"] in ("HIT", "MISS")
    assert client.get("/?utm_source=newsletter")["X-Cache"] == "HIT"
    # "?page=1" is its own key (an allowlisted parameter), nothing else added one.
    assert stored_pages() == before + 1


def test_a_404_is_gone_when_a_post_takes_its_slug(client, django_capture_on_commit_callbacks):
    from tests.factories import make_record, write_records

    record = make_record(1)
    future = "/posts/building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services-part-1/"
    missing = client.get(future)
    assert (missing.status_code, missing["X-Cache"]) == (404, "MISS")  # never stored: see below
    assert (
        missing["Surrogate-Key"]
        .split()
        .count("slug:building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services-part-1")
    )  # a CDN that kept it purges it by the slug
    with django_capture_on_commit_callbacks(execute=True):
        write_records(record)
    response = client.get(future)
    assert (response.status_code, response["X-Cache"]) == (200, "MISS")


def test_hits_carry_the_same_vary_header_as_misses(client):
    post = make_post(1)
    miss = client.get(post.get_absolute_url())
    hit = client.get(post.get_absolute_url())
    assert hit["X-Cache"] == "HIT"
    assert hit.get("Vary") == miss.get("Vary")


# -- what keys a page: only the parameters its route reads ----------------------


def test_routes_are_keyed_only_by_the_parameters_they_read(client):
    post = make_post(1, flags={}, **GO)  # no review needed: it is in the sitemap
    article = post.get_absolute_url()
    for number in range(40):
        for url in (f"{article}?page={number}", f"{article}?q=x{number}&p={number}", f"/feeds/rss/?page={number}"):
            assert client.get(url).status_code == 200
    assert stored_pages() == 2  # the article and the feed, once each
    assert client.get("/?page=1")["X-Cache"] == "MISS"
    assert client.get("/?page=1&q=ignored&p=7")["X-Cache"] == "HIT"  # listings read page only
    assert client.get("/search/?q=go&page=1&p=3")["X-Cache"] == "MISS"
    assert client.get("/search/?page=1&q=go")["X-Cache"] == "HIT"
    sitemap_page = f"/sitemap-posts.xml?p={sitemap_page_of(post.pk)}"
    assert client.get(f"{sitemap_page}&page=5")["X-Cache"] == "MISS"
    assert client.get(sitemap_page)["X-Cache"] == "HIT"


def test_search_results_are_kept_minutes_not_a_day(client):
    make_post(1, **GO)
    response = client.get("/search/?q=go")
    assert response["Cache-Control"] == "public, max-age=60, s-maxage=300"
    hit = client.get("/search/?q=go")
    assert (hit["X-Cache"], hit["Cache-Control"]) == ("HIT", "public, max-age=60, s-maxage=300")
    assert client.get("/")["Cache-Control"] == "public, max-age=60, s-maxage=86400"


@pytest.mark.parametrize(
    "path",
    [
        "/sitemap-%00.xml",
        "/sitemap-%7f.xml",
        "/sitemap-%0a.xml",
        "/sitemap-%E2%80%A8.xml",
        "/sitemap-a%20b.xml",
        "/sitemap-%C3%A9t%C3%A9.xml",
        "/sitemap-%ff%fe.xml",
        "/posts/%0d%0aSet-Cookie:%20x=1/",
        "/%E6%97%A5%E6%9C%AC/",
    ],
)
def test_any_path_gives_surrogate_keys_that_are_header_tokens(client, path):
    import re

    for _ in range(2):  # the second request would be a hit if the page were stored
        response = client.get(path)
        assert response.status_code == 404, path
        for tag in response.get("Surrogate-Key", "").split():
            assert re.fullmatch(r"[A-Za-z0-9:._%-]+", tag), tag
    assert stored_pages() == 0
