"""What posts' pages show, as page-cache tags, and which tags a change to a post purges.

A post tag (`post:<id>`) goes on every page that shows the post (its article,
list entries, similar-post entries, feed items); the article route also
carries `slug:<slug>` (set before the lookup, so a 404 for a slug that a new
post later takes is purged with it). A listing tag (`list:home`,
`list:stack:<slug>`, ...) goes on every page of a listing, so that a post
joining or leaving the listing purges all of its pages. The sitemap's pages
of posts are blocks of ids, so a post is on one of them (`list:sitemap:<N>`).
"""

from django.dispatch import receiver

from alphanode.pagecache.purge import PurgeResult, purge
from posts.querysets import sitemap_page_of
from posts.signals import posts_changed

LISTING_KINDS = ("home", "stack", "tools", "entity", "topic", "feed", "sitemap", "search")


def post_tag(post_id: int) -> str:
    """The tag of every page that shows this post."""
    return f"post:{post_id}"


def listing_tag(kind: str, slug: str = "") -> str:
    """The tag of every page of one listing (home, one tag's pages, the feeds, the sitemap...)."""
    if kind not in LISTING_KINDS:
        raise ValueError(f"unknown listing kind {kind!r}; expected one of {', '.join(LISTING_KINDS)}")
    return f"list:{kind}:{slug}" if slug else f"list:{kind}"


def sitemap_page_tag(number: int) -> str:
    """The tag of one sitemap page of posts; the sitemap index and its pages section carry list:sitemap."""
    return listing_tag("sitemap", str(number))


def slug_tag(slug: str) -> str:
    """The tag of the article route for `slug`, including its 404 page before the post exists."""
    return f"slug:{slug}"


def tags_for_change(change) -> set[str]:
    """The cache tags to purge for one services.PostChange: what showed it, and the listings it joined or left."""
    # A post that did not exist is on no page yet (ids are never reused: PostgreSQL's sequences,
    # SQLite's AUTOINCREMENT); the slug tag below still purges the 404 of its URL. A bulk import
    # of new posts purges half the tags for it.
    tags = {post_tag(change.post_id)} if change.before is not None else set()
    placements = [placement for placement in (change.before, change.after) if placement is not None]
    tags.update(slug_tag(placement.slug) for placement in placements)
    listed = [placement for placement in placements if placement.published]
    if not listed:
        return tags  # never visible to readers: only its own (staff-only) article
    tags.update({listing_tag("sitemap"), sitemap_page_tag(sitemap_page_of(change.post_id)), listing_tag("search")})
    before = change.before if change.before and change.before.published else None
    after = change.after if change.after and change.after.published else None
    if before is None or after is None:
        # Joined or left the site: every listing it is (or was) in gains or loses an entry.
        tags.update({listing_tag("home"), listing_tag("feed")})
        joined_or_left = _listings(before or after)
    else:
        # Still listed: only the listings it moved into or out of change membership.
        joined_or_left = _listings(before) ^ _listings(after)
    tags.update(joined_or_left)
    return tags


def _listings(placement) -> set[str]:
    return (
        {listing_tag("stack", slug) for slug in placement.stack}
        | {listing_tag("tools", slug) for slug in placement.tools}
        | {listing_tag("entity", slug) for slug in placement.entities}
        | ({listing_tag("topic", placement.topic)} if placement.topic else set())
    )


def purge_changes(changes, *, reason: str, user=None) -> PurgeResult:
    """Purge everything a batch of post changes affects, in one purge."""
    tags = set()
    for change in changes:
        tags |= tags_for_change(change)
    return purge(tags=tags, reason=f"{reason} ({len(changes)} posts)", user=user)


def purge_posts(posts, *, reason: str, user=None) -> PurgeResult:
    """Purge every page that shows these posts (their articles, list entries, similar-post entries)."""
    tags = {tag for post in posts for tag in (post_tag(post.pk), slug_tag(post.slug))}
    return purge(tags=tags, reason=reason, user=user)


@receiver(posts_changed)
def purge_on_post_change(sender, changes, **kwargs):
    purge_changes(changes, reason=kwargs.get("reason", "posts changed"), user=kwargs.get("user"))
