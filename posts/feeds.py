"""RSS and Atom feeds: the latest posts site-wide and per stack or tools tag.

One class for the site feed and one for tag feeds; RSS or Atom is chosen
when the URL is declared (`LatestPostsFeed("atom")`). Every link and id is
absolute on SITE_URL, never the request's Host. Items carry the summary
and the full, sanitized article body (RSS `content:encoded`, Atom `content`),
and the publisher as author (records have no author).

Feed readers treat RSS descriptions as HTML, so text that goes into one (the
summary, a tag name) is HTML-escaped first: markup in it shows as text. Atom
subtitles are plain text and stay unescaped. Feed objects are shared by every
request, so the request travels in the object `get_object` returns, never on `self`.
"""

from dataclasses import dataclass

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape
from taggit.models import Tag

from alphanode.pagecache.tagging import tag_page
from posts import cache_tags
from posts.models import Post
from posts.querysets import LIST_FIELDS
from posts.site import absolute_url, publisher_name

ITEMS = 20
CONTENT_NAMESPACE = "http://purl.org/rss/1.0/modules/content/"
DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"


class RssWithContent(Rss201rev2Feed):
    """RSS 2.0 with the full article in `content:encoded` and the publisher as the channel's `dc:creator`."""

    def rss_attributes(self):
        return {**super().rss_attributes(), "xmlns:content": CONTENT_NAMESPACE, "xmlns:dc": DC_NAMESPACE}

    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        # RSS's own managingEditor must be an email address; the publisher has a name only.
        handler.addQuickElement("dc:creator", self.feed["author_name"])

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content_html"])


class AtomWithContent(Atom1Feed):
    """Atom 1.0 with the full article in `<content type="html">`."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content_html"], {"type": "html"})


FEED_TYPES = {"rss": RssWithContent, "atom": AtomWithContent}


@dataclass
class FeedSource:
    request: object
    kind: str = ""
    tag: Tag | None = None


class LatestPostsFeed(Feed):
    """The latest published posts of the whole site, as RSS or Atom (`format`)."""

    title = "alphanode: latest posts"
    description = "The latest programming posts on alphanode."
    subtitle = description

    def __init__(self, format: str):
        self.format = format
        self.feed_type = FEED_TYPES[format]

    def get_object(self, request, *args, **kwargs):
        return FeedSource(request)

    def link(self, source):
        return absolute_url(reverse("posts:home"))

    def feed_url(self, source):
        return absolute_url(reverse(f"posts:feed_{self.format}"))

    def feed_guid(self, source):
        return self.feed_url(source)

    def author_name(self, source):
        return publisher_name()

    def author_link(self, source):
        return absolute_url("/")

    def posts(self, source):
        return Post.objects.latest_published()

    def items(self, source):
        posts = list(self.posts(source).for_listing().only(*LIST_FIELDS, "body_html")[:ITEMS])
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
        return absolute_url(post.get_absolute_url())

    def item_guid(self, post):
        return absolute_url(post.get_absolute_url())

    item_guid_is_permalink = True

    def item_author_name(self, post):
        return publisher_name()

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return post.updated_at

    def item_categories(self, post):
        # A tag can be both a stack and a tool of one post: each category once.
        return list(dict.fromkeys(item.tag.name for item in (*post.stack_items.all(), *post.tool_items.all())))

    def item_extra_kwargs(self, post):
        return {"content_html": post.body_html}


class TagFeed(LatestPostsFeed):
    """The latest posts of one stack tag (kind "stack") or tools tag (kind "tools"), as RSS or Atom."""

    def __init__(self, kind: str, format: str):
        super().__init__(format)
        self.kind = kind

    def get_object(self, request, slug):
        return FeedSource(request, kind=self.kind, tag=get_object_or_404(Tag, slug=slug))

    def title(self, source):
        return f"alphanode: {source.kind} {source.tag.name}"

    def subtitle(self, source):
        return f"The latest alphanode posts tagged {source.tag.name} ({source.kind})."

    def description(self, source):
        # HTML, like item descriptions: a tag name holding markup shows as text.
        return escape(self.subtitle(source))

    def link(self, source):
        return absolute_url(reverse(f"posts:{source.kind}", kwargs={"slug": source.tag.slug}))

    def feed_url(self, source):
        return absolute_url(reverse(f"posts:{source.kind}_{self.format}", kwargs={"slug": source.tag.slug}))

    def posts(self, source):
        if source.kind == "stack":
            return Post.objects.in_stack(source.tag)
        return Post.objects.in_tools(source.tag)
