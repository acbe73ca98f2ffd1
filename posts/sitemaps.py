"""The sitemap: published posts that are not waiting for review, with lastmod, at most 10,000 URLs a page.

Django's sitemaps framework serves `/sitemap.xml` (the index) and its
pages. Its own paginator counts every indexable post and reads page N with
OFFSET, so a request costs more the more posts there are. Here page N holds
the indexable posts whose ids fall in the N-th block of 10,000 ids, counted
from the block of the lowest indexable id (so page 1 always has URLs): the
number of pages comes from the lowest and highest ids (two index probes), and a page is
one range read of the partial index `post_indexable`. Pages can hold fewer
URLs than the limit (flagged, unpublished or deleted posts leave gaps); a
page whose whole id range has none is left out of the index and is a 404
(the sitemaps.org schema wants at least one URL a page), so every page the
index lists answers 200 with URLs: the index probes each range once.

A `pages` sitemap lists the home page and the stack and tools pages that
list an indexable post; entity and topic pages are left out (they are many,
thin, and reached from the articles). Every URL is absolute on SITE_URL,
never on the request's Host.

Django's sitemap views take the domain from the request (`get_current_site`),
so the two views here render the index and the pages themselves, with a
leaner template than Django's (no alternates, changefreq or priority): a page
of 10,000 URLs spends most of its time rendering. Like Django's, they tell
search engines not to index the sitemap files themselves (X-Robots-Tag).

10,000 URLs a page rather than the protocol's 50,000: a page costs time per
URL, so with pages of a fixed, smaller size a page of a million-post site
costs what a page of a small site does (bench/run_all.py, docs/benchmarks.md).
"""

import math
from functools import cached_property

from django.contrib.sitemaps import Sitemap
from django.core.paginator import EmptyPage, Page, PageNotAnInteger
from django.db.models import Max
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe
from taggit.models import Tag

from alphanode.pagecache.tagging import page_query, tag_page
from posts import cache_tags
from posts.models import Post
from posts.site import absolute_url

SITEMAP_CONTENT_TYPE = "application/xml; charset=utf-8"


class IdRangePaginator:
    """Pages of a queryset by id range, in blocks of per_page ids from the block of the lowest id.

    Page N holds the rows with ids in (offset + (N-1) * per_page, offset + N * per_page],
    where offset is the start of the lowest id's block: page 1 is never empty while a
    row exists, and pages keep their ids until the lowest id moves to another block.
    """

    def __init__(self, queryset, per_page: int):
        self.queryset = queryset
        self.per_page = per_page

    @cached_property
    def offset(self) -> int:
        first_id = self.queryset.order_by("id").values_list("id", flat=True).first() or 1
        return (first_id - 1) // self.per_page * self.per_page

    @cached_property
    def num_pages(self) -> int:
        last_id = self.queryset.order_by("-id").values_list("id", flat=True).first() or 0
        return max(1, math.ceil((last_id - self.offset) / self.per_page))

    def _range(self, number: int):
        first = self.offset + (number - 1) * self.per_page
        return self.queryset.filter(id__gt=first, id__lte=first + self.per_page)

    def page(self, number) -> Page:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(f"page {number!r} is not a whole number") from None
        if not 1 <= number <= self.num_pages:
            raise EmptyPage(f"page {number} is not one of pages 1 to {self.num_pages}")
        items = list(self._range(number).order_by("id"))
        if not items:
            raise EmptyPage(f"no indexable posts in page {number}'s id range")
        return Page(items, number, self)

    def filled_pages(self) -> list[int]:
        """The numbers of the pages that hold at least one row: one index probe per page."""
        return [number for number in range(1, self.num_pages + 1) if self._range(number).exists()]


class PostSitemap(Sitemap):
    limit = 10_000

    def items(self):
        # (slug, updated_at) pairs, not model instances: a page builds up to 10,000 of them.
        return Post.objects.indexable().values_list("slug", "updated_at")

    @cached_property
    def _detail_prefix(self) -> str:
        """The article URL without its slug ("/posts/"), so that a page does not reverse() 10,000 times."""
        return reverse("posts:detail", kwargs={"slug": "x"}).removesuffix("x/")

    def location(self, item):
        return absolute_url(f"{self._detail_prefix}{item[0]}/")

    def lastmod(self, item):
        return item[1]

    def get_latest_lastmod(self):
        # The default takes the max over every item: it would load every post.
        return Post.objects.indexable().aggregate(latest=Max("updated_at"))["latest"]

    @cached_property
    def paginator(self):
        return IdRangePaginator(self.items(), self.limit)


def listing_urls() -> list[dict]:
    """The home page and every stack and tools page that lists an indexable post (at most one sitemap page)."""
    indexable = Post.objects.indexable()
    urls = [{"location": absolute_url(reverse("posts:home")), "lastmod": PostSitemap().get_latest_lastmod()}]
    for kind, items in (("stack", "posts_stacktag_items"), ("tools", "posts_tooltag_items")):
        slugs = (
            Tag.objects.filter(**{f"{items}__content_object__in": indexable})
            .order_by("slug")
            .values_list("slug", flat=True)
            .distinct()
        )
        urls.extend({"location": absolute_url(reverse(f"posts:{kind}", kwargs={"slug": slug}))} for slug in slugs)
    return urls[: PostSitemap.limit]


@require_safe
def sitemap_index(request):
    tag_page(request, cache_tags.listing_tag("sitemap"))
    posts = PostSitemap()
    location = absolute_url(reverse("posts:sitemap_section", kwargs={"section": "posts"}))
    lastmod = posts.get_latest_lastmod()
    sitemaps = [{"location": absolute_url(reverse("posts:sitemap_section", kwargs={"section": "pages"}))}]
    sitemaps.extend(
        {"location": location if number == 1 else f"{location}?p={number}", "lastmod": lastmod}
        for number in posts.paginator.filled_pages()
    )
    return _sitemap_response(request, "sitemaps/index.xml", {"sitemaps": sitemaps})


@page_query("p")  # the page of a section, as Django's sitemap index links it
@require_safe
def sitemap_section(request, section):
    tag_page(request, cache_tags.listing_tag("sitemap"))
    if section == "pages":
        urls = listing_urls()
    elif section == "posts":
        urls = _post_urls(PostSitemap(), request.GET.get("p", 1))
    else:
        raise Http404(f"no sitemap section {section!r}")
    return _sitemap_response(request, "sitemaps/posts.xml", {"urlset": urls})


def _sitemap_response(request, template: str, context: dict):
    response = render(request, template, context, content_type=SITEMAP_CONTENT_TYPE)
    response["X-Robots-Tag"] = "noindex, noodp, noarchive"
    return response


def _post_urls(sitemap: PostSitemap, number) -> list[dict]:
    """One page's URLs; 404 for a page the index does not list."""
    try:
        page = sitemap.paginator.page(number)
    except (EmptyPage, PageNotAnInteger) as error:
        raise Http404(str(error)) from None
    return [{"location": sitemap.location(item), "lastmod": sitemap.lastmod(item)} for item in page]
