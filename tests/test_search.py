"""Search: finding posts by body words, tool names and identifiers; messages for bad queries; snippets."""

import importlib
import re

import pytest
from django.db import connection
from django.utils import timezone

from posts import cache_tags, paging, search
from tests.factories import make_draft, make_post, make_posts

pytestmark = pytest.mark.django_db

ON_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL full-text search and statement timeouts (CI's second run)"
)
ON_SQLITE = pytest.mark.skipif(connection.vendor != "sqlite", reason="the plain SQLite search of development")


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="post-card__title"><a href="[^"]+">([^<]+)</a></h2>', html)


def _search(client, query: str, **params):
    return client.get("/search/", {"q": query, **params})


def test_finds_a_post_by_a_word_in_its_body(client):
    post = make_post(1, body="We tuned the **flamegraph** output.\n\nSecond paragraph.")
    make_post(2)
    response = _search(client, "flamegraph")
    assert response.status_code == 200
    assert _titles(response.content.decode()) == [post.title]
    assert response.wsgi_request.cache_tags == {cache_tags.listing_tag("search"), cache_tags.post_tag(post.pk)}


def test_finds_a_post_by_a_tool_name(client):
    post = make_post(1, tools=["pgbench"])
    make_post(2)
    assert _titles(_search(client, "pgbench").content.decode()) == [post.title]


@pytest.mark.parametrize("query", ["asyncio.gather", "c++", "C++", "node.js", "c#"])
def test_finds_identifiers(client, query):
    wanted = make_post(1, tools=["asyncio.gather", "node.js"], stack=["c++ systems code", "c#"])
    make_post(2, tools=["asyncio"], stack=["c systems code"], body="plain c code and gather steps")
    assert _titles(_search(client, query).content.decode()) == [wanted.title]


def test_finds_identifiers_in_the_body(client):
    post = make_post(1, body="Run the fetches with `asyncio.gather(*tasks)` and compare with C++ threads.")
    make_post(2, body="Nothing about that here.")
    for query in ("asyncio.gather", "c++"):
        assert _titles(_search(client, query).content.decode()) == [post.title]


def test_postgresql_ranks_title_matches_first_and_the_fallback_lists_newest_first(client):
    in_title = make_post(1, title="kubernetes rollouts without surprises")
    in_body = make_post(2, body="a paragraph that mentions kubernetes once.")
    titles = _titles(_search(client, "kubernetes").content.decode())
    if connection.vendor == "postgresql":
        assert titles == [in_title.title, in_body.title]
    else:
        assert titles == [in_body.title, in_title.title]


def test_every_word_must_match(client):
    both = make_post(1, body="redis and celery together")
    make_post(2, body="only redis here")
    assert _titles(_search(client, "redis celery").content.decode()) == [both.title]


def test_drafts_are_not_found(client):
    make_draft(1, body="secretword")
    html = _search(client, "secretword").content.decode()
    assert _titles(html) == []
    assert "Nothing matched" in html


def test_snippet_highlights_matches_and_escapes_the_body(client):
    make_post(1, body="The <script>window.__xss=1</script> flamegraph shows <b>hot</b> code.")
    html = _search(client, "flamegraph").content.decode()
    assert "<mark>flamegraph</mark>" in html
    assert "<script>window.__xss" not in html
    assert "<b>hot" not in html


def test_headline_parts_keep_markup_as_text_and_only_marked_matches_highlighted():
    parts = search._headline_parts("<img src=x> \x02needle\x03 and \x02stray mark ## heading `code`")
    assert [(part.text, part.marked) for part in parts] == [
        ("<img src=x> ", False),
        ("needle", True),
        (" and stray mark heading code ", False),
    ]


def test_plain_snippet_marks_every_word_case_insensitively():
    parts = search.plain_snippet("Use Redis with celery; redis again.", ["redis", "CELERY"])
    assert [part.text for part in parts if part.marked] == ["Redis", "celery", "redis"]


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_shows_a_message(client, query):
    response = _search(client, query)
    assert response.status_code == 200
    assert "Type a word to search for" in response.content.decode()


def test_missing_query_shows_the_search_page(client):
    response = client.get("/search/")
    assert response.status_code == 200
    assert "Type a word to search for" in response.content.decode()


def test_over_long_query_is_a_clear_400(client):
    response = _search(client, "word " * 60)
    assert response.status_code == 400
    assert f"searches can be at most {search.MAX_QUERY_LENGTH}" in response.content.decode()


@pytest.mark.parametrize(
    "query", ["\x00", "a\x00b", "the", "+++", "!!!", "-", '"', "or", "'; drop table posts_post; --"]
)
def test_odd_queries_never_fail(client, query):
    make_post(1)
    response = _search(client, query)
    assert response.status_code in (200, 400)


def test_search_pages(client, monkeypatch):
    monkeypatch.setattr(paging, "PER_PAGE", 2)
    make_posts(3, body="shared needle text")
    first = _search(client, "needle").content.decode()
    assert len(_titles(first)) == 2
    assert 'rel="next" href="/search/?q=needle&amp;page=2"' in first
    assert "3 posts match" in first
    second = _search(client, "needle", page="2").content.decode()
    assert len(_titles(second)) == 1
    assert 'rel="prev" href="/search/?q=needle"' in second
    assert _search(client, "needle", page="3").status_code == 404
    assert _search(client, "needle", page="x").status_code == 404


def test_search_page_is_noindex(client):
    assert '<meta name="robots" content="noindex">' in _search(client, "x").content.decode()


def test_clean_query_drops_control_characters_and_collapses_spaces():
    assert search.clean_query(" a\x00b \t c\n") == "a b c"
    with pytest.raises(search.QueryError):
        search.clean_query("\x00\x01")


def test_search_terms_hold_topic_tags_entities_and_identifier_parts():
    record = {
        "topic": "t",
        "stack": ["c++ systems code"],
        "tools": ["asyncio.gather", "py-spy"],
        "entities": [{"name": "tokio", "type": "library"}],
    }
    assert search.search_terms(record).splitlines() == [
        "t",
        "c++ systems code",
        "asyncio.gather",
        "asyncio gather",
        "py-spy",
        "py spy",
        "tokio",
    ]


def test_identifier_rewrites_match_the_migration():
    migration = importlib.import_module("posts.migrations.0004_search")
    assert migration.IDENTIFIER_REWRITES == search.IDENTIFIER_REWRITES


@ON_POSTGRESQL
def test_the_search_uses_the_gin_index_on_postgresql():
    """A selective query is a bitmap scan of the GIN index, not a read of every post.

    New index entries wait in GIN's pending list until (auto)vacuum merges
    them, and the planner prices that list high; merged, as on a running
    site, the index is the plan.
    """
    make_posts(100)
    make_post(101, body="the zanzibar deployment")
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('post_search')")
        cursor.execute("ANALYZE posts_post")
        cursor.execute(
            "EXPLAIN " + search._POSTGRESQL_SQL,
            {"query": "zanzibar", "now": timezone.now(), "candidates": search.CANDIDATES, "limit": 21, "offset": 0},
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on post_search" in plan, plan


def test_ranking_looks_at_the_newest_candidates_and_says_when_more_match(client, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 2)
    posts = make_posts(3, body="shared needle text")
    html = _search(client, "needle").content.decode()
    assert "More than 2 posts match" in html
    assert sorted(_titles(html)) == sorted(post.title for post in posts[1:])


@ON_SQLITE
def test_the_plain_search_on_sqlite_finds_a_word_of_the_body(client):
    make_posts(3)
    make_post(4, body="the zanzibar deployment")
    assert search.search_posts("zanzibar", None).total == 1
    # No statement timeout on SQLite (development): a search simply runs.
    assert _search(client, "zanzibar").status_code == 200


@ON_POSTGRESQL
def test_a_search_past_the_time_limit_is_stopped_with_a_clear_503(client, monkeypatch):
    make_post(1)
    # A statement that outlives the limit stands in for a search walking far back.
    monkeypatch.setattr(search, "TIMEOUT_MS", 50)
    monkeypatch.setattr(
        search, "_POSTGRESQL_SQL", "SELECT pg_sleep(1), %(query)s, %(candidates)s, %(limit)s, %(offset)s"
    )
    response = _search(client, "python")
    assert response.status_code == 503
    assert "took longer than 0.05 s and was stopped" in response.content.decode()
    # The connection is usable afterwards (the failed statement's transaction was rolled back).
    monkeypatch.undo()
    assert _search(client, "python").status_code == 200


def test_plain_snippet_starts_and_ends_on_whole_words():
    words = [f"word{number:03d}" for number in range(200)]
    text = " ".join(words)
    parts = search.plain_snippet(text, ["word100"], width=120)
    snippet = "".join(part.text for part in parts)
    assert snippet.startswith("… ") and snippet.endswith(" …")
    inner = snippet.removeprefix("… ").removesuffix(" …")
    assert all(word in words for word in inner.split()), inner
    assert "word100" in inner
    assert len(inner) <= 120


def test_plain_snippet_of_a_short_text_is_the_whole_text():
    parts = search.plain_snippet("measure first, then change", ["change"])
    assert "".join(part.text for part in parts) == "measure first, then change"
