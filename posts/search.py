"""Search: PostgreSQL full-text search, ranked, with highlighted snippets; a plain fallback elsewhere.

On PostgreSQL every post has a stored `search_vector` (a generated column
with a GIN index, added by migration 0004): title (weight A), the search
terms (topic, tags and entity names, B), summary (C) and body (D). A query
goes through `websearch_to_tsquery`, so quotes, `or` and `-word` work.

The text-search parser keeps identifiers such as `asyncio.gather` or
`node.js` whole, but cuts `c++` down to `c`. Those few identifiers are
rewritten to plain words (`c++` -> `cplusplus`) in the stored vector and in
queries alike; `IDENTIFIER_REWRITES` must match the migration's copy.

Ranking looks at no more than the newest `CANDIDATES` matches, so a query
matching half of a million posts costs about the same as one matching a
thousand; such a query is best narrowed anyway, and the page says how many
matched ("more than 500").

On SQLite (development and tests) a query matches posts containing every
word in the title, summary, search terms or body, newest first.
"""

import re
from dataclasses import dataclass

import psycopg
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from posts import paging
from posts.models import Post

MAX_QUERY_LENGTH = 200
CANDIDATES = 500
# A word common in old posts but missing from recent ones makes the newest-first
# read walk far back; the statement is stopped rather than left to hold a worker.
TIMEOUT_MS = 3000
SNIPPET_SOURCE_CHARS = 100_000
IDENTIFIER_REWRITES = (("c++", " cplusplus "), ("c#", " csharp "), ("f#", " fsharp "))
# Marks ts_headline puts around matches; control characters, so no text can forge them.
_START, _STOP = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IDENTIFIER_PARTS = re.compile(r"[./:_\-]+")
# Markdown syntax that would read as noise in a snippet: code fences, heading marks, backticks.
_MARKDOWN_NOISE = re.compile(r"`{3}[\w+#-]*|(?:^|(?<=\s))#{1,6}(?=\s)|`")
_HIGHLIGHT = re.compile(f"{_START}([^{_START}{_STOP}]*){_STOP}")


class QueryError(ValueError):
    """A query the search page cannot run; the message says why and what to do."""


class SearchTooSlow(QueryError):
    """The search ran past TIMEOUT_MS and was stopped."""


@dataclass(frozen=True)
class SnippetPart:
    text: str
    marked: bool = False


def search_terms(canonical: dict) -> str:
    """The words a post is found by besides its text: topic, tags, entities, and the parts of identifiers."""
    names = [
        canonical["topic"],
        *canonical["stack"],
        *canonical["tools"],
        *(entity["name"] for entity in canonical["entities"]),
    ]
    terms = []
    for name in names:
        terms.append(name)
        parts = [part for part in _IDENTIFIER_PARTS.split(name) if part]
        if len(parts) > 1:
            terms.append(" ".join(parts))
    return "\n".join(dict.fromkeys(terms))


def clean_query(raw: str | None) -> str:
    """The query as searched: control characters dropped, spaces collapsed; QueryError when unusable."""
    query = " ".join(_CONTROL.sub(" ", raw or "").split())
    if not query:
        raise QueryError("Type a word to search for, such as a tool name (asyncio.gather) or a topic.")
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"That search is {len(query)} characters long; searches can be at most {MAX_QUERY_LENGTH}. "
            "Use a few distinctive words instead."
        )
    return query


def rewrite_identifiers(text: str) -> str:
    text = text.lower()
    for identifier, word in IDENTIFIER_REWRITES:
        text = text.replace(identifier, word)
    return text


@dataclass
class SearchPage(paging.ListingPage):
    total: int = 0

    @property
    def total_is_capped(self) -> bool:
        return self.total > CANDIDATES


def search_posts(query: str, raw_page: str | None) -> SearchPage:
    """One page of published posts matching `query` (already cleaned), best first."""
    number = paging.page_number(raw_page)
    if connection.vendor == "postgresql":
        posts, total = _search_postgresql(query, number)
    else:
        posts, total = _search_plain(query, number)
    if not posts and number > 1:
        paging.past_the_end(number)
    return SearchPage(
        items=posts[: paging.PER_PAGE],
        number=number,
        has_next=len(posts) > paging.PER_PAGE and number < paging.MAX_PAGE,
        total=total,
    )


# Candidates are the newest matches (read along post_latest_published when the
# word is common, from the GIN index when it is rare); only they are ranked, and
# only the rows of the page asked for get a headline (OFFSET rows would too).
_POSTGRESQL_SQL = f"""
WITH matched AS (
    SELECT post.id, post.published_at
    FROM posts_post AS post
    WHERE post.search_vector @@ websearch_to_tsquery('english', %(query)s) AND post.state = 'published'
      AND (post.publish_at IS NULL OR post.publish_at <= %(now)s)
      AND (post.unpublish_at IS NULL OR post.unpublish_at > %(now)s)
    ORDER BY post.published_at DESC, post.id DESC
    LIMIT %(candidates)s + 1
),
page AS (
    SELECT candidate.id, candidate.published_at,
           ts_rank_cd(post.search_vector, websearch_to_tsquery('english', %(query)s), 32) AS rank
    FROM (SELECT * FROM matched ORDER BY published_at DESC, id DESC LIMIT %(candidates)s) AS candidate
    JOIN posts_post AS post ON post.id = candidate.id
    ORDER BY rank DESC, candidate.published_at DESC, candidate.id DESC
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT post.id, post.slug, post.title, post.summary, post.published_at, post.reading_time, post.difficulty,
       ts_headline(
           'english', left(post.body, {SNIPPET_SOURCE_CHARS}), websearch_to_tsquery('english', %(query)s),
           'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxFragments=2, MaxWords=30, MinWords=12, '
           || 'FragmentDelimiter=" … "'
       ) AS headline,
       (SELECT count(*) FROM matched) AS total
FROM page JOIN posts_post AS post ON post.id = page.id
ORDER BY page.rank DESC, page.published_at DESC, page.id DESC
"""


def _search_postgresql(query: str, number: int) -> tuple[list[Post], int]:
    params = {
        "query": rewrite_identifiers(query),
        "now": timezone.now(),
        "candidates": CANDIDATES,
        "limit": paging.PER_PAGE + 1,
        "offset": (number - 1) * paging.PER_PAGE,
    }
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(TIMEOUT_MS)}")
            posts = list(Post.objects.raw(_POSTGRESQL_SQL, params))
    except OperationalError as error:
        if not isinstance(error.__cause__, psycopg.errors.QueryCanceled):
            raise
        raise SearchTooSlow(
            f"The search for “{query}” took longer than {TIMEOUT_MS / 1000:g} s and was stopped. "
            "Searching again will likely be as slow: add a more specific word, such as a tool or stack name."
        ) from None
    total = posts[0].total if posts else 0
    for post in posts:
        post.snippet = _with_summary_fallback(_headline_parts(post.headline), post.summary)
    return posts, total


def _with_summary_fallback(parts: list[SnippetPart], summary: str) -> list[SnippetPart]:
    """The summary reads better than the body's first words when the body holds no match (a tag matched)."""
    return parts if any(part.marked for part in parts) else [SnippetPart(summary)]


def _headline_parts(headline: str) -> list[SnippetPart]:
    """ts_headline's text with the marked matches as separate parts (the template escapes each)."""
    parts, position = [], 0
    for match in _HIGHLIGHT.finditer(headline):
        parts.append(SnippetPart(_clean_text(headline[position : match.start()])))
        parts.append(SnippetPart(_clean_text(match.group(1)), marked=True))
        position = match.end()
    parts.append(SnippetPart(_clean_text(headline[position:])))
    return [part for part in parts if part.text.strip()]


def _clean_text(text: str) -> str:
    text = _MARKDOWN_NOISE.sub(" ", text.replace(_START, "").replace(_STOP, ""))
    return re.sub(r"\s+", " ", text)


def _search_plain(query: str, number: int) -> tuple[list[Post], int]:
    words = query.split()[:10]
    posts = Post.objects.published()
    for word in words:
        posts = posts.filter(
            Q(title__icontains=word)
            | Q(summary__icontains=word)
            | Q(search_terms__icontains=word)
            | Q(body__icontains=word)
        )
    # As on PostgreSQL: the newest CANDIDATES matches, counted up to one more.
    ids = list(posts.order_by("-published_at", "-id").values_list("id", flat=True)[: CANDIDATES + 1])
    offset = (number - 1) * paging.PER_PAGE
    page_ids = ids[:CANDIDATES][offset : offset + paging.PER_PAGE + 1]
    page = list(
        Post.objects.filter(id__in=page_ids)
        .order_by("-published_at", "-id")
        .only("id", "slug", "title", "summary", "body", "published_at", "reading_time", "difficulty")
    )
    for post in page:
        post.snippet = _with_summary_fallback(plain_snippet(post.body, words), post.summary)
    return page, len(ids)


def plain_snippet(text: str, words: list[str], width: int = 240) -> list[SnippetPart]:
    """A window of `text` around the first match of any word, cut at word boundaries, the matches marked."""
    text = _clean_text(text)
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - width // 3) if first else 0
    end = min(len(text), start + width)
    if start > 0 and not text[start - 1].isspace():
        # Start after the space that ends the word cut in two (never past the match).
        space = text.find(" ", start, first.start() if first else end)
        start = space + 1 if space != -1 else start
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", first.end() if first and first.end() < end else start, end)
        end = space if space > start else end
    window = text[start:end].strip()
    parts, position = [], 0
    for match in pattern.finditer(window):
        parts.append(SnippetPart(window[position : match.start()]))
        parts.append(SnippetPart(match.group(0), marked=True))
        position = match.end()
    parts.append(SnippetPart(window[position:]))
    prefix = [SnippetPart("… ")] if start else []
    suffix = [SnippetPart(" …")] if end < len(text) else []
    return prefix + [part for part in parts if part.text] + suffix
