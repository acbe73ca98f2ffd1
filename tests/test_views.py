"""The reader pages: article, listings, pagination, drafts, head tags, query counts, error pages."""

import json
import re

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from posts import cache_tags, paging, similar
from posts.models import Entity, Post
from tests.factories import make_draft, make_post, make_posts, make_record, write_records

pytestmark = pytest.mark.django_db


def _head_value(html: str, pattern: str) -> str:
    match = re.search(pattern, html)
    assert match, f"not in the page: {pattern}"
    return match.group(1)


def _article(html: str) -> str:
    articles = re.findall(r"<article\b.*?</article>", html, re.S)
    assert len(articles) == 1
    return articles[0]


# The article page


def test_article_shows_title_body_meta_box_and_similar_heading(client):
    post = make_post(1)
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    article = _article(response.content.decode())
    assert f'<h1 id="post-title">{post.title}</h1>' in article
    assert '<pre class="highlight" data-language="python">' in article
    assert '<h2 id="post-meta-title">alphanode post meta</h2>' in article
    assert "<dt>view count</dt><dd>554931</dd>" in article
    assert "<li>ai generated style: 1</li>" in article
    assert "<li>last reviewed: 2021-10-14</li>" in article
    assert "Similar Posts</h2>" in article
    assert "No similar posts yet." in article
    # Never Python or JSON text in the meta box.
    meta_box = article.split("alphanode post meta")[1]
    for python_or_json in ("['", "{'", '["', '{"', "True", "False", "None"):
        assert python_or_json not in meta_box


def test_meta_box_rows_follow_the_spec_order_and_skip_absent_fields(client):
    post = make_post(1, ai_brief=None, notes=[], hash=None)
    article = _article(client.get(post.get_absolute_url()).content.decode())
    keys = re.findall(r"<dt>([^<]+)</dt>", article)
    assert keys == [
        "topic",
        "summary",
        "ai outline",
        "stack",
        "tools",
        "code language",
        "difficulty",
        "reading time",
        "view count",
        "score",
        "revision",
        "reference",
        "flags",
        "checklist",
        "entities",
        "image sources",
        "payload",
    ]


def test_scalar_meta_rows_have_no_whitespace_between_key_and_value(client):
    post = make_post(1)
    article = _article(client.get(post.get_absolute_url()).content.decode())
    assert re.search(r"<dt>topic</dt><dd>", article)
    assert not re.search(r"</dt>\s+<dd>", article)


def test_head_has_title_description_canonical_open_graph_twitter_and_json_ld(client):
    post = make_post(1, flags={"needs_human_review": False})
    html = client.get(post.get_absolute_url()).content.decode()
    url = f"http://testserver{post.get_absolute_url()}"
    assert f"<title>{post.title} · alphanode</title>" in html
    assert _head_value(html, r'<meta name="description" content="([^"]*)">') == post.summary
    assert _head_value(html, r'<link rel="canonical" href="([^"]*)">') == url
    assert _head_value(html, r'<meta property="og:url" content="([^"]*)">') == url
    assert _head_value(html, r'<meta property="og:title" content="([^"]*)">') == post.title
    assert _head_value(html, r'<meta property="og:type" content="([^"]*)">') == "article"
    assert _head_value(html, r'<meta name="twitter:card" content="([^"]*)">') == "summary_large_image"
    data = json.loads(_head_value(html, r'<script type="application/ld\+json">(.*?)</script>'))
    assert data["@type"] == "Article"
    assert data["headline"] == post.title
    assert data["datePublished"] == post.published_at.replace(microsecond=0).isoformat()
    assert data["dateModified"] == post.updated_at.replace(microsecond=0).isoformat()
    assert data["author"] == {"@type": "Organization", "name": "alphanode", "url": "http://testserver/"}
    assert data["publisher"]["logo"]["url"].startswith("http://testserver/static/icons/apple-touch-icon")
    assert (data["publisher"]["logo"]["width"], data["publisher"]["logo"]["height"]) == (180, 180)
    image = record_image(post)
    assert data["image"] == {
        "@type": "ImageObject",
        "url": image["url"],
        "caption": image["caption"],
        "width": 1200,
        "height": 630,
    }
    assert _head_value(html, r'<meta property="og:image:alt" content="([^"]*)">') == image["caption"]
    assert _head_value(html, r'<meta property="og:image:width" content="([^"]*)">') == "1200"
    assert _head_value(html, r'<meta name="author" content="([^"]*)">') == "alphanode"
    assert data["keywords"] == [
        "python services",
        "backend",
        "python",
        "fastapi",
        "pytest",
        "uvicorn",
        "ruff",
        "git",
        "logs",
    ]


def record_image(post) -> dict:
    image = post.image_sources.first()
    return {"url": image.url, "caption": image.caption}


def test_image_size_is_left_out_when_the_image_url_does_not_state_it(client, settings):
    settings.PUBLISHER_NAME = "Example Press"
    images = [{"source": "example.org", "url": "https://example.org/photo.png", "caption": "a photo"}]
    post = make_post(1, image_sources=images, flags={"needs_human_review": False, "has_images": True})
    html = client.get(post.get_absolute_url()).content.decode()
    data = json.loads(_head_value(html, r'<script type="application/ld\+json">(.*?)</script>'))
    assert data["image"] == {"@type": "ImageObject", "url": "https://example.org/photo.png", "caption": "a photo"}
    assert data["author"]["name"] == data["publisher"]["name"] == "Example Press"
    assert "og:image:width" not in html
    assert _head_value(html, r'<meta property="og:image:alt" content="([^"]*)">') == "a photo"


@pytest.mark.parametrize("path", ["/", "/stack/rust/"])
def test_home_and_tag_pages_have_open_graph_twitter_and_json_ld(client, path):
    make_post(1, stack=["rust"], flags={"needs_human_review": False})
    html = client.get(path).content.decode()
    url = f"http://testserver{path}"
    assert _head_value(html, r'<meta property="og:url" content="([^"]*)">') == url
    assert _head_value(html, r'<meta property="og:type" content="([^"]*)">') == "website"
    assert _head_value(html, r'<meta property="og:image:alt" content="([^"]*)">')
    assert _head_value(html, r'<meta name="twitter:card" content="([^"]*)">') == "summary"
    data = json.loads(_head_value(html, r'<script type="application/ld\+json">(.*?)</script>'))
    assert data["@type"] == ("WebSite" if path == "/" else "CollectionPage")
    assert data["url"] == url
    assert data["publisher"]["@type"] == "Organization"


def test_home_page_has_one_alternate_link_per_feed_and_a_tag_page_adds_its_own(client):
    make_post(1, stack=["rust"])
    alternates = re.compile(r'<link rel="alternate" type="[^"]+" title="[^"]+" href="([^"]+)">')
    assert alternates.findall(client.get("/").content.decode()) == ["/feeds/rss/", "/feeds/atom/"]
    assert alternates.findall(client.get("/stack/rust/").content.decode()) == [
        "/feeds/rss/",
        "/feeds/atom/",
        "/stack/rust/rss/",
        "/stack/rust/atom/",
    ]


def test_time_elements_carry_no_microseconds(client):
    post = make_post(1)
    for path in ("/", post.get_absolute_url(), "/search/?q=python"):
        values = re.findall(r'<time datetime="([^"]+)">', client.get(path).content.decode())
        assert values
        for value in values:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", value), value


def test_json_ld_cannot_be_closed_by_a_title(client):
    post = make_post(1, title='</script><script>window.__xss=1</script> & "quotes"')
    html = client.get(post.get_absolute_url()).content.decode()
    script = _head_value(html, r'<script type="application/ld\+json">(.*?)</script>')
    assert json.loads(script)["headline"] == post.title
    assert "<script>window.__xss" not in html


def test_flagged_post_is_noindex_and_approved_post_is_not(client):
    flagged = make_post(1, flags={"needs_human_review": True})
    approved = make_post(2, flags={"needs_human_review": False})
    noindex = '<meta name="robots" content="noindex">'
    assert noindex in client.get(flagged.get_absolute_url()).content.decode()
    assert noindex not in client.get(approved.get_absolute_url()).content.decode()


@pytest.mark.parametrize("state", [Post.State.DRAFT, Post.State.ARCHIVED])
def test_unpublished_post_is_404_for_anonymous_readers(client, state):
    post = make_draft(1)
    Post.objects.filter(pk=post.pk).update(state=state)
    response = client.get(post.get_absolute_url())
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.parametrize("state", [Post.State.DRAFT, Post.State.ARCHIVED])
def test_staff_see_unpublished_posts_with_a_banner_outside_the_article(client, django_user_model, state):
    post = make_draft(1)
    Post.objects.filter(pk=post.pk).update(state=state)
    client.force_login(django_user_model.objects.create_user("editor", is_staff=True))
    html = client.get(post.get_absolute_url()).content.decode()
    banner = _head_value(html, r'<p class="banner banner--draft" role="status">(.*?)</p>')
    assert state.capitalize() in banner
    assert "not published" in banner
    assert "banner" not in _article(html)
    assert '<meta name="robots" content="noindex">' in html


def test_logged_in_non_staff_user_gets_404_for_drafts(client, django_user_model):
    post = make_draft(1)
    client.force_login(django_user_model.objects.create_user("reader"))
    assert client.get(post.get_absolute_url()).status_code == 404


def test_unknown_slug_is_404(client):
    assert client.get(reverse("posts:detail", kwargs={"slug": "no-such-post"})).status_code == 404


def test_article_tags_its_page_with_itself_and_its_similar_posts(client):
    first, second = make_posts(2)
    response = client.get(first.get_absolute_url())
    assert response.wsgi_request.cache_tags == {
        cache_tags.slug_tag(first.slug),
        cache_tags.post_tag(first.pk),
        cache_tags.post_tag(second.pk),
    }


def test_anonymous_article_sets_no_cookie_and_has_no_csrf_token(client):
    post = make_post(1)
    response = client.get(post.get_absolute_url())
    assert not response.cookies
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_similar_posts_are_listed_best_first(client):
    post = make_post(1, stack=["alpha", "beta"], tools=["gamma"], entities=[])
    make_post(2, stack=["alpha"], tools=[], entities=[])
    best = make_post(3, stack=["alpha", "beta"], tools=["gamma"], entities=[])
    article = _article(client.get(post.get_absolute_url()).content.decode())
    titles = re.findall(r'<li><a href="/posts/[^"]+/">([^<]+)</a></li>', article.split("Similar Posts")[1])
    assert titles[0] == best.title
    assert len(titles) == 2
    assert "No similar posts yet." not in article


# A constant number of queries per article page


def _article_queries(client, post) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(post.get_absolute_url()).status_code == 200
    return len(queries)


def _many_tags_record(number: int) -> dict:
    return make_record(
        number,
        stack=[f"stack {i}" for i in range(30)],
        tools=[f"tool {i}" for i in range(30)],
        entities=[{"name": f"entity {i}", "type": "area"} for i in range(20)],
        image_sources=[
            {"source": "example.org", "url": f"https://example.org/{i}.png", "caption": f"image {i}"} for i in range(5)
        ],
    )


def test_article_query_count_is_the_same_for_few_and_many_tags_and_posts(
    client, django_assert_num_queries, page_cache_off, monkeypatch
):
    few = make_post(1, stack=["python"], tools=["pytest"], entities=[{"name": "python", "type": "stack"}])
    write_records(_many_tags_record(2))
    many = Post.objects.get(source_id="test-000002")
    make_post(3, stack=["python"])
    write_records(_many_tags_record(4))

    def counts() -> tuple:
        # A fresh ranking cache, then the same pages with their rankings cached (posts/similar.py).
        monkeypatch.setattr(similar, "KEY_PREFIX", f"{similar.KEY_PREFIX}-again")
        cold = (_article_queries(client, few), _article_queries(client, many))
        return cold, (_article_queries(client, few), _article_queries(client, many))

    counts_small_site = counts()
    # Two hundred more posts sharing every tag and entity of both posts.
    write_records(*[_many_tags_record(number) for number in range(5, 105)])
    write_records(*[make_record(number, stack=["python"], tools=["pytest"]) for number in range(105, 205)])
    counts_big_site = counts()

    # The post (with its stored meta box, tag lists and page facts), the Similar Posts
    # ranking while it is not cached, and the similar posts themselves by id.
    assert counts_small_site == counts_big_site == ((3, 3), (2, 2))
    with django_assert_num_queries(2):
        client.get(many.get_absolute_url())


# Listings and pagination


def test_home_lists_latest_published_posts_with_summary_tags_reading_time_difficulty(client):
    posts = make_posts(3)
    make_draft(9)
    response = client.get(reverse("posts:home"))
    html = response.content.decode()
    titles = re.findall(r'<h2 class="post-card__title"><a href="[^"]+">([^<]+)</a></h2>', html)
    assert titles == [post.title for post in reversed(posts)]
    assert posts[0].summary in html
    # The kind is spoken (and read by search engines): a tag named "go" is not a bare "go" link.
    hidden = '<span class="visually-hidden">{}: </span>'
    assert f'<a class="tag tag--stack" href="/stack/python/">{hidden.format("Stack")}python</a>' in html
    assert f'<a class="tag tag--tool" href="/tools/fastapi/">{hidden.format("Tool")}fastapi</a>' in html
    assert "10 min read · intermediate" in html
    assert response.wsgi_request.cache_tags == {
        cache_tags.listing_tag("home"),
        *(cache_tags.post_tag(post.pk) for post in posts),
    }


def test_home_page_query_count_does_not_grow_with_posts(client, django_assert_num_queries, page_cache_off):
    make_posts(3)
    with django_assert_num_queries(3):
        client.get(reverse("posts:home"))
    make_posts(40, start=10)
    with django_assert_num_queries(3):
        client.get(reverse("posts:home"))


@pytest.fixture
def five_posts_two_a_page(monkeypatch):
    monkeypatch.setattr(paging, "PER_PAGE", 2)
    return make_posts(5)


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("", 200, [5, 4]),
        ("?page=1", 200, [5, 4]),
        ("?page=2", 200, [3, 2]),
        ("?page=3", 200, [1]),
        ("?page=4", 404, None),
        ("?page=0", 404, None),
        ("?page=-1", 404, None),
        ("?page=abc", 404, None),
        ("?page=1.5", 404, None),
        ("?page=" + "9" * 5000, 404, None),
        (f"?page={paging.MAX_PAGE + 1}", 404, None),
    ],
)
def test_home_pagination_edges(client, five_posts_two_a_page, query, status, expected):
    response = client.get(reverse("posts:home") + query)
    assert response.status_code == status
    if expected is not None:
        by_number = {int(post.source_id.rsplit("-", 1)[1]): post for post in five_posts_two_a_page}
        html = response.content.decode()
        for number in expected:
            assert by_number[number].title in html


def test_pager_links_newer_and_older_pages(client, five_posts_two_a_page):
    first = client.get("/").content.decode()
    assert 'rel="next" href="/?page=2"' in first
    assert 'rel="prev"' not in first
    middle = client.get("/?page=2").content.decode()
    assert 'rel="prev" href="/"' in middle
    assert 'rel="next" href="/?page=3"' in middle
    assert _head_value(middle, r'<link rel="canonical" href="([^"]*)">') == "http://testserver/?page=2"
    last = client.get("/?page=3").content.decode()
    assert 'rel="next"' not in last


def test_empty_site_home_page_is_200_with_a_message(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No posts here yet." in response.content.decode()


def test_stack_and_tools_pages_list_their_posts_newest_first(client):
    older = make_post(1, stack=["rust"], tools=["cargo"])
    newer = make_post(2, stack=["rust"], tools=["clippy"])
    other = make_post(3, stack=["go"], tools=["cargo"])
    rust = client.get(reverse("posts:stack", kwargs={"slug": "rust"}))
    html = rust.content.decode()
    assert "Stack: rust" in html
    assert html.index(newer.title) < html.index(older.title)
    assert other.title not in html
    assert rust.wsgi_request.cache_tags == {
        cache_tags.listing_tag("stack", "rust"),
        cache_tags.post_tag(older.pk),
        cache_tags.post_tag(newer.pk),
    }
    cargo = client.get(reverse("posts:tools", kwargs={"slug": "cargo"})).content.decode()
    assert older.title in cargo and other.title in cargo and newer.title not in cargo


def test_tag_pages_hide_drafts_and_404_for_unknown_tags(client):
    make_draft(1, stack=["rust"])
    assert "No posts here yet." in client.get("/stack/rust/").content.decode()
    assert client.get("/stack/no-such-tag/").status_code == 404
    assert client.get("/tools/no-such-tag/").status_code == 404


def test_stack_page_pagination(client, monkeypatch):
    monkeypatch.setattr(paging, "PER_PAGE", 2)
    make_posts(3, stack=["rust"])
    assert client.get("/stack/rust/?page=2").status_code == 200
    assert client.get("/stack/rust/?page=3").status_code == 404


def test_entity_page_lists_posts_naming_the_entity(client):
    post = make_post(1, entities=[{"name": "tokio", "type": "library"}])
    make_post(2, entities=[{"name": "serde", "type": "library"}])
    entity = Entity.objects.get(name="tokio")
    response = client.get(entity.get_absolute_url())
    html = response.content.decode()
    assert "Library: tokio" in html
    assert post.title in html and "part 2" not in html
    assert cache_tags.listing_tag("entity", entity.slug) in response.wsgi_request.cache_tags
    assert client.get("/entities/no-such-entity/").status_code == 404


def test_topic_page_lists_posts_on_the_topic_and_404s_when_there_are_none(client):
    post = make_post(1, topic="Caching rendered pages / Django")
    make_post(2, topic="something else")
    assert post.topic_slug == "caching-rendered-pages-django"
    response = client.get(reverse("posts:topic", kwargs={"slug": post.topic_slug}))
    html = response.content.decode()
    assert "Topic: Caching rendered pages / Django" in html
    assert post.title in html and "part 2" not in html
    assert cache_tags.listing_tag("topic", post.topic_slug) in response.wsgi_request.cache_tags
    assert client.get("/topics/no-such-topic/").status_code == 404


def test_topic_without_letters_gets_no_link(client):
    post = make_post(1, topic="///")
    assert post.topic_slug == ""
    assert client.get(post.get_absolute_url()).status_code == 200


# robots.txt and error pages


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode().splitlines()


def test_404_page_matches_the_site(client):
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert '<a class="site-name" href="/">alphanode</a>' in html
    assert "Page not found" in html


def test_500_page_renders_without_a_request_or_database():
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert "alphanode" in html


def test_listing_html_escapes_record_text(client):
    make_post(1, title="<script>window.__xss=1</script>", summary="<img src=x onerror=alert(1)>", stack=["<b>x</b>"])
    html = client.get("/").content.decode()
    assert "<script>window.__xss" not in html
    assert "<img src=x" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
