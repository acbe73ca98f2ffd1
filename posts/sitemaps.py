"""The sitemap: published posts that are not waiting for review, with lastmod, at most 10,000 URLs a page.

Django's sitemaps framework serves `/sitemap.xml` (the index) and its
pages. Its own paginator counts every indexable post and reads page N with
OFFSET, so a request costs more the more posts there are. Here page N holds
the indexable posts whose ids fall in ((N-1) * 10,000, N * 10,000]: the
number of pages comes from the highest id (one index probe), and a page is
one range read of the partial index `post_indexable`. Pages can hold fewer
URLs than the limit (flagged, unpublished or deleted posts leave gaps); a
page whose whole id range has none is a 404.

10,000 rather than the protocol's 50,000: a page costs time per URL, so with
pages of a fixed, smaller size a page of a million-post site costs what a
page of a small site does (bench/run_all.py, docs/benchmarks.md).
"""

import math
from functools import cached_property

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.core.paginator import EmptyPage, Page, PageNotAnInteger
from django.db.models import Max
from django.urls import reverse
from django.views.decorators.http import require_safe

from alphanode.pagecache.tagging import tag_page
from posts import cache_tags
from posts.models import Post


class IdRangePaginator:
    """Pages of a queryset by id range: page N holds the rows with ids in ((N-1) * per_page, N * per_page]."""

    def __init__(self, queryset, per_page: int):
        self.queryset = queryset
        self.per_page = per_page

    @cached_property
    def num_pages(self) -> int:
        last_id = self.queryset.order_by("-id").values_list("id", flat=True).first() or 0
        return max(1, math.ceil(last_id / self.per_page))

    def page(self, number) -> Page:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(f"page {number!r} is not a whole number") from None
        if not 1 <= number <= self.num_pages:
            raise EmptyPage(f"page {number} is not one of pages 1 to {self.num_pages}")
        first, last = (number - 1) * self.per_page, number * self.per_page
        items = list(self.queryset.filter(id__gt=first, id__lte=last).order_by("id"))
        if not items:
            raise EmptyPage(f"no indexable posts with ids from {first + 1} to {last}")
        return Page(items, number, self)


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
        return f"{self._detail_prefix}{item[0]}/"

    def lastmod(self, item):
        return item[1]

    def get_latest_lastmod(self):
        # The default takes the max over every item: it would load every post.
        return Post.objects.indexable().aggregate(latest=Max("updated_at"))["latest"]

    @cached_property
    def paginator(self):
        return IdRangePaginator(self.items(), self.limit)


SITEMAPS = {"posts": PostSitemap}


@require_safe
def sitemap_index(request):
    tag_page(request, cache_tags.listing_tag("sitemap"))
    return sitemap_views.index(request, SITEMAPS, sitemap_url_name="posts:sitemap_section")


@require_safe
def sitemap_section(request, section):
    tag_page(request, cache_tags.listing_tag("sitemap"))
    # A leaner template than Django's (no alternates, changefreq or priority): a page
    # of 10,000 URLs spends most of its time rendering.
    return sitemap_views.sitemap(request, SITEMAPS, section=section, template_name="sitemaps/posts.xml")
