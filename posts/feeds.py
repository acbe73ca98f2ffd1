"""RSS and Atom feeds: the latest posts site-wide and per stack or tools tag.

Feed readers treat an item's description as HTML, so the summary is
HTML-escaped first: a summary that contains markup shows as text. Feed
objects are shared by every request, so the request travels in the object
`get_object` returns, never on `self`.
"""

from dataclasses import dataclass

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from taggit.models import Tag

from alphanode.pagecache.tagging import tag_page
from posts import cache_tags
from posts.models import Post

ITEMS = 20


@dataclass
class FeedSource:
    request: object
    kind: str = ""
    tag: Tag | None = None


class LatestPostsFeed(Feed):
    title = "alphanode: latest posts"
    description = "The latest programming posts on alphanode."
    feed_type_name = "rss"

    def get_object(self, request, *args, **kwargs):
        return FeedSource(request)

    def link(self, source):
        return reverse("posts:home")

    def feed_url(self, source):
        return reverse(f"posts:feed_{self.feed_type_name}")

    def posts(self, source):
        return Post.objects.latest_published()

    def items(self, source):
        posts = list(self.posts(source).for_listing()[:ITEMS])
        tags = [cache_tags.listing_tag("feed"), *(cache_tags.post_tag(post.pk) for post in posts)]
        if source.tag is not None:
            tags.append(cache_tags.listing_tag(source.kind, source.tag.slug))
        tag_page(source.request, *tags)
        return posts

    def item_title(self, post):
        return post.title

    def item_description(self, post):
        return escape(post.summary)

    def item_link(self, post):
        return post.get_absolute_url()

    def item_guid(self, post):
        return post.get_absolute_url()

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return post.updated_at

    def item_categories(self, post):
        return [item.tag.name for item in (*post.stack_items.all(), *post.tool_items.all())]


class LatestPostsAtomFeed(LatestPostsFeed):
    feed_type = Atom1Feed
    feed_type_name = "atom"
    subtitle = LatestPostsFeed.description


class TagFeed(LatestPostsFeed):
    """The latest posts of one stack tag (kind "stack") or tools tag (kind "tools")."""

    kind = "stack"

    def get_object(self, request, slug):
        return FeedSource(request, kind=self.kind, tag=get_object_or_404(Tag, slug=slug))

    def title(self, source):
        return f"alphanode: {source.kind} {source.tag.name}"

    def description(self, source):
        return f"The latest alphanode posts tagged {source.tag.name} ({source.kind})."

    def link(self, source):
        return reverse(f"posts:{source.kind}", kwargs={"slug": source.tag.slug})

    def feed_url(self, source):
        return reverse(f"posts:{source.kind}_{self.feed_type_name}", kwargs={"slug": source.tag.slug})

    def posts(self, source):
        if source.kind == "stack":
            return Post.objects.in_stack(source.tag)
        return Post.objects.in_tools(source.tag)


class StackFeed(TagFeed):
    kind = "stack"


class StackAtomFeed(StackFeed):
    feed_type = Atom1Feed
    feed_type_name = "atom"

    def subtitle(self, source):
        return self.description(source)


class ToolsFeed(TagFeed):
    kind = "tools"


class ToolsAtomFeed(ToolsFeed):
    feed_type = Atom1Feed
    feed_type_name = "atom"

    def subtitle(self, source):
        return self.description(source)
