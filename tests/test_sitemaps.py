"""The sitemap index and pages: valid against the sitemaps.org schemas, indexable posts only, lastmod."""

from pathlib import Path

import pytest
from lxml import etree

from posts import pagecache
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


def test_index_is_valid_and_points_to_the_posts_sitemap(client):
    make_post(1, flags={"needs_human_review": False})
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    document = _valid(response.content, "siteindex.xsd")
    assert document.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS) == ["http://testserver/sitemap-posts.xml"]
    assert document.xpath("//sm:sitemap/sm:lastmod/text()", namespaces=NS)
    assert response.wsgi_request.cache_tags == {pagecache.listing_tag("sitemap")}


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


def test_sitemap_pages_split_at_the_limit(client, monkeypatch):
    monkeypatch.setattr(PostSitemap, "limit", 2)
    posts = make_posts(5, flags={"needs_human_review": False})
    index = _valid(client.get("/sitemap.xml").content, "siteindex.xsd")
    assert index.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS) == [
        "http://testserver/sitemap-posts.xml",
        "http://testserver/sitemap-posts.xml?p=2",
        "http://testserver/sitemap-posts.xml?p=3",
    ]
    pages = [_sitemap_locations(client, f"/sitemap-posts.xml?p={page}") for page in (1, 2, 3)]
    assert pages == [[f"http://testserver{post.get_absolute_url()}" for post in posts[i : i + 2]] for i in (0, 2, 4)]
    assert client.get("/sitemap-posts.xml?p=4").status_code == 404
    assert client.get("/sitemap-posts.xml?p=x").status_code == 404


def test_unknown_section_is_404(client):
    assert client.get("/sitemap-nope.xml").status_code == 404


def test_sitemap_page_query_count_does_not_grow_with_posts(client, django_assert_num_queries, page_cache_off):
    make_posts(3, flags={"needs_human_review": False})
    with django_assert_num_queries(3):
        client.get("/sitemap-posts.xml")
    make_posts(30, start=10, flags={"needs_human_review": False})
    with django_assert_num_queries(3):
        client.get("/sitemap-posts.xml")
