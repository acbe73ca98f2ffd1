"""The sitemap: published posts that are not waiting for review, with lastmod, 50,000 URLs a page.

Django's sitemaps framework serves `/sitemap.xml` (the index) and its
pages. Its default paginator reads page N with OFFSET over full rows; here
the first id of a page is found with an index-only OFFSET on the narrow
partial index `post_indexable`, then the page is read as an id range on
the same index. Counting the pages is one index-only count.
"""

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.core.paginator import Paginator
from django.db.models import Max
from django.views.decorators.http import require_safe

from posts import pagecache
from posts.models import Post


class IdRangePaginator(Paginator):
    """Pages of a queryset ordered by id, each read from its first id onwards."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        first_ids = list(self.object_list.values_list("id", flat=True)[bottom : bottom + 1])
        if not first_ids:
            return self._get_page([], number, self)
        return self._get_page(self.object_list.filter(id__gte=first_ids[0])[: self.per_page], number, self)


class PostSitemap(Sitemap):
    limit = 50_000

    def items(self):
        return Post.objects.indexable().order_by("id").only("id", "slug", "updated_at")

    def lastmod(self, post):
        return post.updated_at

    def get_latest_lastmod(self):
        # The default takes the max over every item: it would load every post.
        return Post.objects.indexable().aggregate(latest=Max("updated_at"))["latest"]

    @property
    def paginator(self):
        return IdRangePaginator(self.items(), self.limit)


SITEMAPS = {"posts": PostSitemap}


@require_safe
def sitemap_index(request):
    pagecache.tag_page(request, pagecache.listing_tag("sitemap"))
    return sitemap_views.index(request, SITEMAPS, sitemap_url_name="posts:sitemap_section")


@require_safe
def sitemap_section(request, section):
    pagecache.tag_page(request, pagecache.listing_tag("sitemap"))
    return sitemap_views.sitemap(request, SITEMAPS, section=section)
