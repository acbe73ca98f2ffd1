"""Similar Posts for an article: the ranking comes from the shared cache, the posts from the database.

Ranking a post's neighbours is most of an uncached article's time (it reads
up to 100 link rows per tag and entity and scores them: ~17 of 25 ms on
SQLite, ~15 of 31 ms on PostgreSQL, measured with bench/profile_article.py).
The ranking depends on every other post, so it cannot be rendered when the
post is written like the meta box; but it changes slowly, and every render
of the article until then (the first reader after a purge, every editor,
every page after a deploy) would compute the same list.

So the ids of the best RANKED posts are kept in the shared cache (Redis, or
the machine's file cache on the embedded default) under the post's id and
lock_version: any write to the post ranks anew. The posts themselves are
read by id on every render through `published()`, so a post unpublished,
scheduled out or deleted since drops out at once and titles are current
(RANKED > SHOWN leaves room for a few to drop out). A newly published post
joins other articles' lists when their ranking expires (SECONDS, an hour by
default); a cached page of those articles is no fresher than that.
"""

from django.conf import settings
from django.core.cache import cache

from posts.models import Post

SHOWN = 5
RANKED = 10
# Bump the version when the ranking changes meaning; tests give each test its own prefix.
KEY_PREFIX = "similar:v1"


def _key(post: Post) -> str:
    return f"{KEY_PREFIX}:{post.pk}:{post.lock_version}"


def ranked_ids(post: Post) -> list[int]:
    """The ids of the posts most similar to `post`, best first (cached; see the module docstring)."""
    key = _key(post)
    ids = cache.get(key)
    if ids is None:
        facts = post.page_facts
        ranked = Post.objects.similar_to_keys(
            post.pk, facts.get("tag_ids", []), facts.get("entity_ids", []), limit=RANKED
        )
        ids = [other.pk for other in ranked]
        cache.set(key, ids, settings.SIMILAR_POSTS_SECONDS)
    return ids


def similar_posts(post: Post) -> list[Post]:
    """Up to SHOWN published posts similar to `post`, best first, with the fields a link needs."""
    ids = ranked_ids(post)
    if not ids:
        return []
    found = Post.objects.published().filter(pk__in=ids).only("id", "slug", "title").order_by().in_bulk()
    return [found[pk] for pk in ids if pk in found][:SHOWN]
