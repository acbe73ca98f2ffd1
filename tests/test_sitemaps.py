"""The sitemap index and pages: valid against the sitemaps.org schemas, indexable posts only, lastmod."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from lxml import etree

from posts import cache_tags, querysets, sitemaps
from posts.models import Post
from posts.querysets import sitemap_page_of
from tests.factories import make_draft, make_post, make_posts, make_record, write_records

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _valid(content: bytes, schema: str) -> etree._Element:
    document = etree.fromstring(content)
    xsd = etree.XMLSchema(etree.parse(str(FIXTURES / schema)))
    assert xsd.validate(document), xsd.error_log
    return document


def _sitemap_locations(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    document = _valid(response.content, "sitemap.xsd")
    return document.xpath("//sm:url/sm:loc/text()", namespaces=NS)


def _page_url(post_id: int) -> str:
    """The sitemap page of posts that lists this post, as the index links it."""
    number = sitemap_page_of(post_id)
    return "http://testserver/sitemap-posts.xml" + ("" if number == 1 else f"?p={number}")


def test_index_is_valid_and_points_to_the_pages_and_posts_sitemaps(client):
    post = make_post(1, flags={"needs_human_review": False})
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    document = _valid(response.content, "siteindex.xsd")
    assert document.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS) == [
        "http://testserver/sitemap-pages.xml",
        _page_url(post.pk),
    ]
    assert document.xpath("//sm:sitemap/sm:lastmod/text()", namespaces=NS) == [post.updated_at.date().isoformat()]
    assert response.wsgi_request.cache_tags == {cache_tags.listing_tag("sitemap")}
    assert response["X-Robots-Tag"] == "noindex, noodp, noarchive"
    assert response["Content-Type"] == "application/xml; charset=utf-8"


def test_sitemap_lists_approved_published_posts_with_lastmod_and_leaves_out_flagged_and_drafts(client):
    approved = make_post(1, flags={"needs_human_review": False})
    make_post(2, flags={"needs_human_review": True})
    make_draft(3, flags={"needs_human_review": False})
    response = client.get(_page_url(approved.pk))
    document = _valid(response.content, "sitemap.xsd")
    assert document.xpath("//sm:url/sm:loc/text()", namespaces=NS) == [
        f"http://testserver{approved.get_absolute_url()}"
    ]
    assert document.xpath("//sm:url/sm:lastmod/text()", namespaces=NS) == [approved.updated_at.date().isoformat()]


def test_a_post_joins_the_sitemap_when_its_review_flag_is_cleared(client, django_capture_on_commit_callbacks):
    flagged = make_post(1, flags={"needs_human_review": True})
    make_post(2, flags={"needs_human_review": False})
    page = _page_url(flagged.pk)
    assert f"http://testserver{flagged.get_absolute_url()}" not in _sitemap_locations(client, page)
    with django_capture_on_commit_callbacks(execute=True):  # the write's purge runs, as after a real commit
        write_records(make_record(1, flags={"needs_human_review": False}))
    assert f"http://testserver{flagged.get_absolute_url()}" in _sitemap_locations(client, page)


def test_sitemap_pages_are_fixed_blocks_of_ids_and_only_filled_ones_are_listed(client, monkeypatch):
    monkeypatch.setattr(querysets, "SITEMAP_PAGE_SIZE", 2)
    posts = make_posts(6, flags={"needs_human_review": False})

    def page_of(pk: int) -> int:
        return (pk - 1) // 2 + 1

    # Flag both posts of one later page's id range: that page has nothing to list.
    emptied = next(
        post
        for post in posts[2:-1]
        if page_of(post.pk) == page_of(post.pk + 1) and post.pk + 1 in {p.pk for p in posts}
    )
    Post.objects.filter(pk__in=[emptied.pk, emptied.pk + 1]).update(needs_human_review=True)
    empty_page = page_of(emptied.pk)
    last_page = page_of(posts[-1].pk)

    expected = {}
    for post in posts:
        if post.pk not in (emptied.pk, emptied.pk + 1):
            expected.setdefault(page_of(post.pk), []).append(f"http://testserver{post.get_absolute_url()}")

    index = _valid(client.get("/sitemap.xml").content, "siteindex.xsd")
    locations = index.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS)[1:]
    # Only pages with URLs are listed (the schema wants one at least): not the emptied one.
    page_url = "http://testserver/sitemap-posts.xml"
    assert locations == [page_url if number == 1 else f"{page_url}?p={number}" for number in sorted(expected)]
    assert f"{page_url}?p={empty_page}" not in locations
    assert locations[-1] == f"{page_url}?p={last_page}"
    for number, urls in expected.items():
        assert _sitemap_locations(client, f"/sitemap-posts.xml?p={number}") == urls
    for missing in (empty_page, last_page + 1, 0, -1, "x", "1.5", 2**80):
        assert client.get(f"/sitemap-posts.xml?p={missing}").status_code == 404


def test_each_page_of_the_index_has_the_newest_change_of_its_own_posts_as_lastmod(client, monkeypatch):
    monkeypatch.setattr(querysets, "SITEMAP_PAGE_SIZE", 3)
    posts = make_posts(9, flags={"needs_human_review": False})
    now = timezone.now()
    # Dates far apart, and on each page a post readers cannot see that is newer than the ones they can.
    for offset, post in enumerate(posts):
        Post.objects.filter(pk=post.pk).update(updated_at=now - timedelta(days=100 - offset * 10))
    hidden = {
        posts[1].pk: {"needs_human_review": True},
        posts[4].pk: {"publish_at": now + timedelta(days=1)},
        posts[7].pk: {"unpublish_at": now - timedelta(days=1)},
        posts[8].pk: {"state": Post.State.DRAFT},
    }
    for pk, change in hidden.items():
        Post.objects.filter(pk=pk).update(updated_at=now, **change)

    expected = {}
    for post in Post.objects.indexable().order_by("id"):
        number = (post.pk - 1) // 3 + 1
        expected[number] = max(expected.get(number, post.updated_at), post.updated_at)
    assert sitemaps.filled_pages() == sorted(expected.items())
    index = _valid(client.get("/sitemap.xml").content, "siteindex.xsd")
    lastmods = index.xpath("//sm:sitemap/sm:lastmod/text()", namespaces=NS)
    assert lastmods == [lastmod.date().isoformat() for _, lastmod in sorted(expected.items())]


def test_unknown_section_is_404(client):
    assert client.get("/sitemap-nope.xml").status_code == 404


def test_sitemap_query_counts_do_not_grow_with_posts(client, django_assert_num_queries, page_cache_off):
    for count, start in ((3, 1), (30, 10)):
        posts = make_posts(count, start=start, flags={"needs_human_review": False})
        with django_assert_num_queries(1):  # the page's posts
            assert client.get(_page_url(posts[-1].pk)).status_code == 200
        with django_assert_num_queries(1):  # every page and its lastmod
            assert client.get("/sitemap.xml").status_code == 200
        with django_assert_num_queries(3):  # the latest change, the stack and the tools pages
            assert client.get("/sitemap-pages.xml").status_code == 200


def test_a_change_purges_the_index_and_the_page_of_its_post_not_the_other_pages(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(querysets, "SITEMAP_PAGE_SIZE", 2)
    posts = make_posts(6, flags={"needs_human_review": False})
    pages = sorted({sitemap_page_of(post.pk) for post in posts})
    urls = ["/sitemap.xml", "/sitemap-pages.xml", *(f"/sitemap-posts.xml?p={number}" for number in pages)]
    for url in urls:
        assert client.get(url)["X-Cache"] == "MISS"
    edited = posts[-1]
    with django_capture_on_commit_callbacks(execute=True):
        write_records(make_record(6, summary="edited", flags={"needs_human_review": False}))
    purged = {"/sitemap.xml", "/sitemap-pages.xml", f"/sitemap-posts.xml?p={sitemap_page_of(edited.pk)}"}
    assert len(pages) > 1
    for url in urls:
        assert client.get(url)["X-Cache"] == ("MISS" if url in purged else "HIT")


def test_a_new_site_whose_posts_all_wait_for_review_lists_only_pages_that_answer(client):
    make_posts(3, flags={"needs_human_review": True})
    index = _valid(client.get("/sitemap.xml").content, "siteindex.xsd")
    assert index.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS) == ["http://testserver/sitemap-pages.xml"]
    assert _sitemap_locations(client, "/sitemap-pages.xml") == ["http://testserver/"]


def test_pages_sitemap_lists_home_and_the_tag_pages_of_indexable_posts(client):
    make_post(1, stack=["rust"], tools=["cargo"], flags={"needs_human_review": False})
    make_post(2, stack=["go"], tools=["pprof"], flags={"needs_human_review": True})
    locations = _sitemap_locations(client, "/sitemap-pages.xml")
    assert locations == ["http://testserver/", "http://testserver/stack/rust/", "http://testserver/tools/cargo/"]
    for location in locations:
        assert client.get(location.removeprefix("http://testserver")).status_code == 200


def test_sitemaps_use_site_url_not_the_request_host_with_the_page_cache_off(client, settings, page_cache_off):
    make_post(1, stack=["rust"], flags={"needs_human_review": False})
    settings.SITE_URL = "https://alphanode.example"
    settings.ALLOWED_HOSTS = ["other.example", "alphanode.example"]
    post = Post.objects.get()
    for url in ("/sitemap.xml", "/sitemap-pages.xml", _page_url(post.pk).removeprefix("http://testserver")):
        response = client.get(url, HTTP_HOST="other.example")
        assert response["X-Cache"] == "BYPASS"
        assert b"other.example" not in response.content
        assert b"https://alphanode.example/" in response.content


def test_the_xml_escapes_locations_and_gives_lastmod_as_the_day_in_the_site_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    late_evening_there = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # 21:30 on March 1st in New York
    document = sitemaps.sitemap_xml(
        "urlset",
        "url",
        [{"location": "https://a.example/?x=1&y='2'", "lastmod": late_evening_there}, {"location": "b"}],
    )
    assert document == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        "<url><loc>https://a.example/?x=1&amp;y=&#x27;2&#x27;</loc><lastmod>2026-03-01</lastmod></url>\n"
        "<url><loc>b</loc></url>\n"
        "</urlset>\n"
    )
