"""The sitemap index and pages: valid against the sitemaps.org schemas, indexable posts only, lastmod."""

from pathlib import Path

import pytest
from lxml import etree

from posts import cache_tags
from posts.models import Post
from posts.sitemaps import PostSitemap
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


def test_index_is_valid_and_points_to_the_pages_and_posts_sitemaps(client):
    make_post(1, flags={"needs_human_review": False})
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    document = _valid(response.content, "siteindex.xsd")
    assert document.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS) == [
        "http://testserver/sitemap-pages.xml",
        "http://testserver/sitemap-posts.xml",
    ]
    assert document.xpath("//sm:sitemap/sm:lastmod/text()", namespaces=NS)
    assert response.wsgi_request.cache_tags == {cache_tags.listing_tag("sitemap")}
    assert response["X-Robots-Tag"] == "noindex, noodp, noarchive"
    assert response["Content-Type"] == "application/xml; charset=utf-8"


def test_sitemap_lists_approved_published_posts_with_lastmod_and_leaves_out_flagged_and_drafts(client):
    approved = make_post(1, flags={"needs_human_review": False})
    make_post(2, flags={"needs_human_review": True})
    make_draft(3, flags={"needs_human_review": False})
    response = client.get("/sitemap-posts.xml")
    document = _valid(response.content, "sitemap.xsd")
    assert document.xpath("//sm:url/sm:loc/text()", namespaces=NS) == [
        f"http://testserver{approved.get_absolute_url()}"
    ]
    assert document.xpath("//sm:url/sm:lastmod/text()", namespaces=NS) == [approved.updated_at.date().isoformat()]


def test_a_post_joins_the_sitemap_when_its_review_flag_is_cleared(client, django_capture_on_commit_callbacks):
    flagged = make_post(1, flags={"needs_human_review": True})
    make_post(2, flags={"needs_human_review": False})
    assert f"http://testserver{flagged.get_absolute_url()}" not in _sitemap_locations(client, "/sitemap-posts.xml")
    with django_capture_on_commit_callbacks(execute=True):  # the write's purge runs, as after a real commit
        write_records(make_record(1, flags={"needs_human_review": False}))
    assert f"http://testserver{flagged.get_absolute_url()}" in _sitemap_locations(client, "/sitemap-posts.xml")


def test_sitemap_pages_are_id_ranges_of_at_most_the_limit(client, monkeypatch):
    monkeypatch.setattr(PostSitemap, "limit", 2)
    posts = make_posts(6, flags={"needs_human_review": False})
    # Pages are blocks of 2 ids from the block of the lowest id (PostgreSQL's sequences do not
    # restart between tests, so that is rarely id 1).
    offset = (posts[0].pk - 1) // 2 * 2

    def page_of(pk: int) -> int:
        return (pk - 1 - offset) // 2 + 1

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
    assert client.get(f"/sitemap-posts.xml?p={empty_page}").status_code == 404
    assert client.get(f"/sitemap-posts.xml?p={last_page + 1}").status_code == 404
    assert client.get("/sitemap-posts.xml?p=x").status_code == 404


def test_unknown_section_is_404(client):
    assert client.get("/sitemap-nope.xml").status_code == 404


def test_sitemap_page_query_count_does_not_grow_with_posts(client, django_assert_num_queries, page_cache_off):
    make_posts(3, flags={"needs_human_review": False})
    last_page = f"/sitemap-posts.xml?p={PostSitemap().paginator.num_pages}"
    with django_assert_num_queries(3):  # the lowest id, the highest id, the page
        assert client.get(last_page).status_code == 200
    make_posts(30, start=10, flags={"needs_human_review": False})
    last_page = f"/sitemap-posts.xml?p={PostSitemap().paginator.num_pages}"
    with django_assert_num_queries(3):
        assert client.get(last_page).status_code == 200
    # Three (the lowest and highest ids, the latest lastmod), plus one probe per page of ids.
    with django_assert_num_queries(3 + PostSitemap().paginator.num_pages):
        assert client.get("/sitemap.xml").status_code == 200


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
    for url in ("/sitemap.xml", "/sitemap-pages.xml", "/sitemap-posts.xml"):
        response = client.get(url, HTTP_HOST="other.example")
        assert response["X-Cache"] == "BYPASS"
        assert b"other.example" not in response.content
        assert b"https://alphanode.example/" in response.content
