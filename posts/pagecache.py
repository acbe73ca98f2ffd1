"""The full-page cache: which pages show what (cache tags), storing pages, purging them.

Only this module knows about cache keys and routes. Views say what a page
shows by tagging the request:

    pagecache.tag_page(request, pagecache.post_tag(post.pk), pagecache.listing_tag("stack", tag.slug))

A post tag (`post:<id>`) goes on every page that shows the post (its article,
list entries, similar-post entries, feed items). A listing tag
(`list:home`, `list:stack:<slug>`, ...) goes on every page of a listing, so
that a post joining or leaving the listing purges all of its pages.
"""

LISTING_KINDS = ("home", "stack", "tools", "entity", "topic", "feed", "sitemap", "search")


def post_tag(post_id: int) -> str:
    """The tag of every page that shows this post."""
    return f"post:{post_id}"


def listing_tag(kind: str, slug: str = "") -> str:
    """The tag of every page of one listing (home, one tag's pages, the feeds, the sitemap...)."""
    if kind not in LISTING_KINDS:
        raise ValueError(f"unknown listing kind {kind!r}; expected one of {', '.join(LISTING_KINDS)}")
    return f"list:{kind}:{slug}" if slug else f"list:{kind}"


def tag_page(request, *tags: str) -> None:
    """Record what this response shows; the page-cache middleware stores the page under these tags."""
    if not hasattr(request, "cache_tags"):
        request.cache_tags = set()
    request.cache_tags.update(tags)
