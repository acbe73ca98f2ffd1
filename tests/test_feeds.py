"""RSS and Atom feeds: valid XML, the latest published posts, per tag, escaped text."""

import feedparser
import pytest
from lxml import etree
from taggit.models import Tag

from posts import cache_tags, feeds
from tests.factories import make_draft, make_post, make_posts

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def _rss_items(client, url: str) -> list:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = etree.fromstring(response.content)
    assert root.tag == "rss"
    return root.findall("./channel/item")


def _atom_entries(client, url: str) -> list:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def test_site_rss_lists_latest_published_posts(client):
    posts = make_posts(3)
    make_draft(9)
    items = _rss_items(client, "/feeds/rss/")
    assert [item.findtext("title") for item in items] == [post.title for post in reversed(posts)]
    first = items[0]
    assert first.findtext("link") == f"http://testserver{posts[-1].get_absolute_url()}"
    assert first.findtext("description") == posts[-1].summary
    assert first.findtext("pubDate")
    assert [category.text for category in first.findall("category")][:3] == ["python services", "backend", "python"]


def test_site_atom_lists_latest_published_posts(client):
    posts = make_posts(2)
    entries = _atom_entries(client, "/feeds/atom/")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == [post.title for post in reversed(posts)]
    assert entries[0].find(f"{ATOM}link").get("href") == f"http://testserver{posts[-1].get_absolute_url()}"
    assert entries[0].findtext(f"{ATOM}updated")


def test_feeds_hold_at_most_twenty_items(client):
    make_posts(feeds.ITEMS + 3)
    assert len(_rss_items(client, "/feeds/rss/")) == feeds.ITEMS


def test_tag_feeds_list_only_that_tags_posts(client):
    rust = make_post(1, stack=["rust"], tools=["cargo"])
    go = make_post(2, stack=["go"], tools=["pprof"])
    assert [item.findtext("title") for item in _rss_items(client, "/stack/rust/rss/")] == [rust.title]
    assert [entry.findtext(f"{ATOM}title") for entry in _atom_entries(client, "/stack/go/atom/")] == [go.title]
    assert [item.findtext("title") for item in _rss_items(client, "/tools/pprof/rss/")] == [go.title]
    assert [entry.findtext(f"{ATOM}title") for entry in _atom_entries(client, "/tools/cargo/atom/")] == [rust.title]


def test_tag_feed_for_an_unknown_tag_is_404(client):
    assert client.get("/stack/no-such-tag/rss/").status_code == 404
    assert client.get("/tools/no-such-tag/atom/").status_code == 404


def test_feed_text_is_escaped_so_readers_show_markup_as_text(client):
    make_post(1, title="<script>alert(1)</script>", summary="<img src=x onerror=alert(1)> & more")
    items = _rss_items(client, "/feeds/rss/")
    assert items[0].findtext("title") == "<script>alert(1)</script>"
    # The description is HTML for feed readers: the summary arrives as escaped text.
    assert items[0].findtext("description") == "&lt;img src=x onerror=alert(1)&gt; &amp; more"


def test_feeds_tag_the_page_with_the_feed_listing_and_their_items(client):
    post = make_post(1, stack=["rust"])
    site = client.get("/feeds/rss/")
    assert site.wsgi_request.cache_tags == {cache_tags.listing_tag("feed"), cache_tags.post_tag(post.pk)}
    tag = client.get("/stack/rust/atom/")
    assert tag.wsgi_request.cache_tags == {
        cache_tags.listing_tag("feed"),
        cache_tags.listing_tag("stack", "rust"),
        cache_tags.post_tag(post.pk),
    }


@pytest.mark.usefixtures("page_cache_off")
def test_feed_query_count_does_not_grow_with_items(client, django_assert_num_queries):
    make_posts(2)
    with django_assert_num_queries(3):
        client.get("/feeds/rss/")
    make_posts(30, start=10)
    with django_assert_num_queries(3):
        client.get("/feeds/rss/")


FEEDS = [
    "/feeds/rss/",
    "/feeds/atom/",
    "/stack/rust/rss/",
    "/stack/rust/atom/",
    "/tools/cargo/rss/",
    "/tools/cargo/atom/",
]


@pytest.mark.parametrize("url", FEEDS)
def test_feeds_parse_with_every_required_element_and_absolute_links_and_ids(client, url):
    posts = make_posts(2, stack=["rust"], tools=["cargo", "rust"])
    response = client.get(url)
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == ("rss20" if url.endswith("rss/") else "atom10")
    feed = parsed.feed
    assert feed.title
    assert feed.link.startswith("http://testserver/")
    assert feed.author == "alphanode"
    if parsed.version == "rss20":
        assert feed.description
    else:
        assert feed.id == f"http://testserver{url}"
        assert feed.updated
    assert {link.href for link in feed.links if link.rel == "self"} == {f"http://testserver{url}"}
    assert len(parsed.entries) == 2
    for entry, post in zip(parsed.entries, reversed(posts), strict=True):
        absolute = f"http://testserver{post.get_absolute_url()}"
        assert entry.title == post.title
        assert entry.link == absolute
        assert entry.id == absolute
        assert entry.author == "alphanode"
        assert entry.published_parsed
        assert entry.summary
        # The full article, sanitized: the rendered body, once (exact bytes: test_feeds_carry_the_full_body).
        assert len(entry.content) == 1
        assert entry.content[0].type == "text/html"
        assert "<h2>production checks</h2>" in entry.content[0].value
        # "rust" is both a stack tag and a tool: one category.
        terms = [tag.term for tag in entry.tags]
        assert terms.count("rust") == 1
        assert len(terms) == len(set(terms))


def test_feeds_carry_the_full_body_as_stored(client):
    post = make_post(1)
    rss = etree.fromstring(client.get("/feeds/rss/").content)
    assert rss.findtext("./channel/item/{http://purl.org/rss/1.0/modules/content/}encoded") == post.body_html
    atom = etree.fromstring(client.get("/feeds/atom/").content)
    content = atom.find(f"{ATOM}entry/{ATOM}content")
    assert (content.get("type"), content.text) == ("html", post.body_html)


def test_rss_guid_is_an_absolute_permalink(client):
    post = make_post(1)
    guid = _rss_items(client, "/feeds/rss/")[0].find("guid")
    assert guid.text == f"http://testserver{post.get_absolute_url()}"
    assert guid.get("isPermaLink") in (None, "true")


def test_a_tag_feed_description_escapes_the_tag_name_like_item_descriptions(client):
    make_post(1, stack=["<b>bold</b> & co"])
    tag = Tag.objects.get(name="<b>bold</b> & co")
    root = etree.fromstring(client.get(f"/stack/{tag.slug}/rss/").content)
    description = root.findtext("./channel/description")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in description
    assert "<b>" not in description
    # Atom's subtitle is plain text: the name as it is.
    atom = etree.fromstring(client.get(f"/stack/{tag.slug}/atom/").content)
    assert "<b>bold</b> & co" in atom.findtext(f"{ATOM}subtitle")


def test_feeds_use_site_url_not_the_request_host_with_the_page_cache_off(client, settings, page_cache_off):
    make_post(1, stack=["rust"])
    settings.SITE_URL = "https://alphanode.example"
    settings.ALLOWED_HOSTS = ["other.example", "alphanode.example"]
    for url in FEEDS[:4]:
        response = client.get(url, HTTP_HOST="other.example")
        assert response["X-Cache"] == "BYPASS"
        assert b"other.example" not in response.content
        assert b"https://alphanode.example/" in response.content
