"""The sitemap: published posts that are not waiting for review, with lastmod, at most 10,000 URLs a page.

`/sitemap.xml` is the index; `sitemap-pages.xml` lists the home page and the
stack and tools pages that list an indexable post (entity and topic pages are
left out: they are many, thin, and reached from the articles), and
`sitemap-posts.xml?p=N` the posts.

Page N of the posts holds the indexable posts whose ids fall in the N-th
fixed block of SITEMAP_PAGE_SIZE ids (querysets.sitemap_page_of), so a post's
page follows from its id alone: a change to a post purges its own page and
the index, not every page (cache_tags). Pages can hold fewer URLs than the
limit (flagged, unpublished or deleted posts leave gaps); a page with none is
left out of the index and is a 404 (the sitemaps.org schema wants at least
one URL a page), so every page the index lists answers 200 with URLs.

Each page's lastmod in the index is the newest `updated_at` among its posts.
The index finds the pages and their lastmods in one query that walks the
partial index `post_sitemap_page` (page, updated_at DESC) with one probe per
page, a loose index scan: the index of a million-post site costs its hundred
lines, not its million posts (bench/run_all.py, docs/benchmarks.md). A page
is one read of its block in the same index.

Django's sitemaps framework is not used: its paginator counts every post and
reads page N with OFFSET, its index gives every page the same lastmod, and
its views take the domain from the request; every URL here is absolute on
SITE_URL. The XML is written here rather than by a template: two elements a
URL, escaped as the template escaped them, and a page of 10,000 URLs took
400 ms in the template's loop (the `date` filter and a variable lookup per
element) against ~15 ms here. Like Django's, the views tell search engines
not to index the sitemap files themselves (X-Robots-Tag).
"""

from html import escape

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe
from taggit.models import Tag

from alphanode.pagecache.tagging import page_query, tag_page
from posts import cache_tags, querysets
from posts.models import Post, StackTag, ToolTag
from posts.site import absolute_url

SITEMAP_CONTENT_TYPE = "application/xml; charset=utf-8"
# The most URLs one sitemap file of the pages section holds (the protocol allows 50,000).
LIMIT = 10_000
# The highest page number whose ids a 64-bit id can reach; past it a page cannot exist.
LAST_POSSIBLE_PAGE = querysets.sitemap_page_of(2**63 - 1)


def filled_pages() -> list[tuple[int, object]]:
    """(number, lastmod) of every page of posts that lists at least one post, in page order; one query."""
    # The SQL is built from constants; only the times are parameters.
    latest = RawSQL(*filled_pages_sql())  # noqa: S611
    latest = Post.objects.filter(pk__in=latest).order_by("id").values_list("id", "updated_at")
    return [(querysets.sitemap_page_of(pk), updated_at) for pk, updated_at in latest]


def filled_pages_sql() -> tuple[str, list]:
    """The id of each page's most recently updated indexable post, found with one index probe a page.

    The conditions are querysets.indexable()'s, written out so that the partial
    index `post_sitemap_page` applies; the page expression is
    querysets.sitemap_block()'s (tests/test_sitemaps.py checks the result
    against the ORM's).
    """
    table = connection.ops.quote_name(Post._meta.db_table)
    size = int(querysets.SITEMAP_PAGE_SIZE)
    indexable = (
        f"p.state = '{Post.State.PUBLISHED}' AND NOT p.needs_human_review "
        "AND (p.publish_at IS NULL OR p.publish_at <= %s) AND (p.unpublish_at IS NULL OR p.unpublish_at > %s)"
    )
    newest_first = f"ORDER BY ((p.id - 1) / {size}), p.updated_at DESC LIMIT 1"
    sql = (
        "WITH RECURSIVE latest (id) AS ("
        f"SELECT (SELECT p.id FROM {table} AS p WHERE {indexable} {newest_first}) "
        "UNION ALL "
        f"SELECT (SELECT p.id FROM {table} AS p WHERE {indexable} "
        f"AND ((p.id - 1) / {size}) > ((latest.id - 1) / {size}) {newest_first}) "
        "FROM latest WHERE latest.id IS NOT NULL) "
        "SELECT id FROM latest WHERE id IS NOT NULL"
    )
    now = timezone.now()
    return sql, [now, now, now, now]


def page_urls(number: int) -> list[dict]:
    """The URLs of page `number` of the posts: [] when it lists none."""
    prefix = reverse("posts:detail", kwargs={"slug": "x"}).removesuffix("x/")
    return [
        {"location": absolute_url(f"{prefix}{slug}/"), "lastmod": updated_at}
        for slug, updated_at in Post.objects.in_sitemap_page(number).values_list("slug", "updated_at")
    ]


def listing_urls() -> list[dict]:
    """The home page and every stack and tools page that lists an indexable post (at most LIMIT)."""
    indexable = Post.objects.indexable()
    latest = indexable.order_by("-updated_at").values_list("updated_at", flat=True).first()
    urls = [{"location": absolute_url(reverse("posts:home")), "lastmod": latest}]
    for kind, items in (("stack", StackTag), ("tools", ToolTag)):
        # Per tag, its newest indexable post along the (tag, post) index: a few probes a tag.
        # (EXISTS lets PostgreSQL join every post's tags instead: 3 s at a million posts.)
        newest = items.objects.filter(tag=OuterRef("pk"), content_object__in=indexable).order_by("-content_object_id")
        listed = Tag.objects.alias(newest=Subquery(newest.values("pk")[:1])).filter(newest__isnull=False)
        slugs = listed.order_by("slug").values_list("slug", flat=True)
        urls.extend({"location": absolute_url(reverse(f"posts:{kind}", kwargs={"slug": slug}))} for slug in slugs)
    return urls[:LIMIT]


@require_safe
def sitemap_index(request):
    tag_page(request, cache_tags.listing_tag("sitemap"))
    location = absolute_url(reverse("posts:sitemap_section", kwargs={"section": "posts"}))
    sitemaps = [{"location": absolute_url(reverse("posts:sitemap_section", kwargs={"section": "pages"}))}]
    sitemaps.extend(
        {"location": location if number == 1 else f"{location}?p={number}", "lastmod": lastmod}
        for number, lastmod in filled_pages()
    )
    return _sitemap_response(sitemap_xml("sitemapindex", "sitemap", sitemaps))


@page_query("p")  # the page of a section, as Django's sitemap index links it
@require_safe
def sitemap_section(request, section):
    if section == "pages":
        tag_page(request, cache_tags.listing_tag("sitemap"))
        urls = listing_urls()
    elif section == "posts":
        number = _page_number(request.GET.get("p", "1"))
        tag_page(request, cache_tags.sitemap_page_tag(number))
        urls = page_urls(number)
        if not urls:
            raise Http404(f"sitemap page {number} lists no posts")
    else:
        raise Http404(f"no sitemap section {section!r}")
    return _sitemap_response(sitemap_xml("urlset", "url", urls))


def _page_number(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise Http404(f"sitemap page {value!r} is not a whole number") from None
    if not 1 <= number <= LAST_POSSIBLE_PAGE:
        raise Http404(f"sitemap page {number} is not one of pages 1 to {LAST_POSSIBLE_PAGE}")
    return number


def sitemap_xml(root: str, element: str, entries: list[dict]) -> str:
    """A sitemaps.org 0.9 document: `root` holding one `element` per entry, with its loc and lastmod (a date)."""
    lines = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n']
    zone = timezone.get_current_timezone()  # the day in the site's time zone, as the template's date filter gave
    for entry in entries:
        lastmod = entry.get("lastmod")
        day = f"<lastmod>{lastmod.astimezone(zone).date().isoformat()}</lastmod>" if lastmod else ""
        lines.append(f"<{element}><loc>{escape(entry['location'])}</loc>{day}</{element}>\n")
    lines.append(f"</{root}>\n")
    return "".join(lines)


def _sitemap_response(document: str) -> HttpResponse:
    response = HttpResponse(document, content_type=SITEMAP_CONTENT_TYPE)
    response["X-Robots-Tag"] = "noindex, noodp, noarchive"
    return response
