"""Reads: the questions the site asks about posts, as QuerySet methods."""

import functools
import operator
from collections.abc import Mapping
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.db.models import F, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

# The sitemap's pages of posts are fixed blocks of ids: page N holds the indexable posts with
# ids in ((N - 1) * SITEMAP_PAGE_SIZE, N * SITEMAP_PAGE_SIZE], so a post's page follows from
# its id alone (posts/sitemaps.py reads them, posts/cache_tags.py purges the one a change touches).
SITEMAP_PAGE_SIZE = 10_000


def sitemap_page_of(post_id: int) -> int:
    """The number of the sitemap page that lists the post with this id (when it is indexable)."""
    return (post_id - 1) // SITEMAP_PAGE_SIZE + 1


def sitemap_block():
    """The SQL expression of a post's sitemap page, counted from 0 (the index post_sitemap_page has it)."""
    return (F("id") - 1) / SITEMAP_PAGE_SIZE


# Fields a list entry shows (home, tags, entities, topics, similar posts).
LIST_FIELDS = ("id", "slug", "title", "topic", "summary", "published_at", "updated_at", "reading_time", "difficulty")

# Why a post waits for a human, the one statement of the review-queue rule:
# flagged by the generator, holding a held-back import, or written in an AI
# style that no reviewer has approved yet, or changed for readers since its
# approval. Each reason is the post column
# values it needs; REVIEW_QUEUE (the SQL side, also the condition of the
# partial index `post_review_queue`, so PostgreSQL uses it for every query on
# the queue) and `review_reasons` (the Python side) are both read from it.
REVIEW_REASONS = {
    "needs_review": {"needs_human_review": True},
    "pending_import": {"pending_import": True},
    "ai_style": {"ai_generated_style": True, "reviewed_by_id": None},
    "changed": {"changed_since_approval": True},
}


def review_reason_q(code: str) -> Q:
    """The SQL condition of one review reason (a REVIEW_REASONS code)."""
    return _reason_q(REVIEW_REASONS[code])


def _reason_q(columns: dict) -> Q:
    return Q(
        **{
            f"{name.removesuffix('_id')}__isnull" if value is None else name: True if value is None else value
            for name, value in columns.items()
        }
    )


REVIEW_QUEUE = functools.reduce(operator.or_, (_reason_q(columns) for columns in REVIEW_REASONS.values()))


def review_reasons(post) -> list[str]:
    """The REVIEW_REASONS codes that hold for `post` (a Post or a mapping of its column values)."""
    value = post.get if isinstance(post, Mapping) else functools.partial(getattr, post)
    return [
        code
        for code, columns in REVIEW_REASONS.items()
        if all(value(name) == wanted if wanted is not None else value(name) is None for name, wanted in columns.items())
    ]


def claim_cutoff():
    """Claims taken before this moment have lapsed (settings.REVIEW_CLAIM_MINUTES)."""
    return timezone.now() - timedelta(minutes=settings.REVIEW_CLAIM_MINUTES)


def claim_is_active(post) -> bool:
    """Whether someone's claim on `post` still holds."""
    return post.claimed_by_id is not None and post.claimed_at is not None and post.claimed_at >= claim_cutoff()


class PostQuerySet(models.QuerySet):
    def claimed(self):
        """Posts someone's claim still holds (lapsed claims count as none)."""
        return self.filter(claimed_by__isnull=False, claimed_at__gte=claim_cutoff())

    def unclaimed(self):
        """Posts free to claim: never claimed, released, or the claim lapsed."""
        return self.exclude(claimed_by__isnull=False, claimed_at__gte=claim_cutoff())

    def published(self, *, at=None):
        """What readers see at `at` (now): published, not before publish_at, not from unpublish_at.

        The time guards make a schedule exact to the second whether or not the
        site has applied the event yet (posts/scheduling.py); models.is_visible
        is the same rule in Python.
        """
        now = at or timezone.now()
        return self.filter(
            Q(publish_at__isnull=True) | Q(publish_at__lte=now),
            Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now),
            state="published",
        )

    def scheduled(self):
        """Posts with a publication or unpublication still to apply."""
        return self.filter(Q(publish_at__isnull=False) | Q(unpublish_at__isnull=False))

    def flagged(self):
        """Posts in the review queue (see REVIEW_QUEUE)."""
        return self.filter(REVIEW_QUEUE)

    def indexable(self):
        """Published posts search engines may index (not waiting for review)."""
        return self.published().filter(needs_human_review=False)

    def in_sitemap_page(self, number: int):
        """The indexable posts of sitemap page `number`, by id (index post_sitemap_page)."""
        return self.indexable().alias(sitemap_block=sitemap_block()).filter(sitemap_block=number - 1).order_by("id")

    def with_record_parts(self):
        """Prefetch what `records.record_from_post` needs, in record order (one query per part)."""
        from posts.models import ImageSource, PostEntity, StackTag, ToolTag

        return self.prefetch_related(
            Prefetch("stack_items", StackTag.objects.select_related("tag").order_by("content_object_id", "position")),
            Prefetch("tool_items", ToolTag.objects.select_related("tag").order_by("content_object_id", "position")),
            Prefetch("entity_links", PostEntity.objects.select_related("entity").order_by("post_id", "position")),
            Prefetch("image_sources", ImageSource.objects.order_by("post_id", "position")),
        )

    def for_listing(self):
        """What a list entry shows: a few columns and the post's tags (two more queries per page)."""
        from posts.models import StackTag, ToolTag

        return self.only(*LIST_FIELDS).prefetch_related(
            Prefetch("stack_items", StackTag.objects.select_related("tag").order_by("content_object_id", "position")),
            Prefetch("tool_items", ToolTag.objects.select_related("tag").order_by("content_object_id", "position")),
        )

    def latest_published(self):
        """Published posts, latest first (index post_latest_published); not QuerySet.latest(), which returns one row."""
        return self.published().order_by("-published_at", "-id")

    def in_topic(self, topic_slug: str):
        """One topic's published posts, latest first (index post_topic_latest)."""
        return self.published().filter(topic_slug=topic_slug).order_by("-published_at", "-id")

    # Tag and entity listings are ordered by post id, newest first: the
    # through tables' (tag, post) indexes give that order, so a page is an
    # index range read, however many posts carry the tag.
    def in_stack(self, tag):
        return self.published().filter(stack_items__tag=tag).order_by("-id")

    def in_tools(self, tag):
        return self.published().filter(tool_items__tag=tag).order_by("-id")

    def naming(self, entity):
        return self.published().filter(entity_links__entity=entity).order_by("-id")

    def similar_to(self, post, *, limit: int = 5, per_key: int = 100, max_keys: int = 50) -> list:
        """Up to `limit` published posts sharing the most stack/tools tags and entities with `post`.

        Best first, then newest. Bounded work whatever the number of posts:
        for each of the post's tags and entities (at most `max_keys`) only the
        newest `per_key` posts carrying it are candidates, read along the
        through tables' (tag, post) / (entity, post) indexes; the candidates
        are scored by counting what they share. One query. Uses the post's
        prefetched tags and entities when `with_record_parts()` loaded them.
        """
        tag_ids = {item.tag_id for item in (*post.stack_items.all(), *post.tool_items.all())}
        entity_ids = {link.entity_id for link in post.entity_links.all()}
        return self.similar_to_keys(post.pk, tag_ids, entity_ids, limit=limit, per_key=per_key, max_keys=max_keys)

    def similar_to_keys(self, post_id, tag_ids, entity_ids, *, limit: int = 5, per_key: int = 100, max_keys: int = 50):
        """`similar_to` for a post given its tag and entity ids (the article keeps them in page_facts)."""
        tag_ids = sorted(set(tag_ids))[:max_keys]
        entity_ids = sorted(set(entity_ids))[: max(0, max_keys - len(tag_ids))]
        if not tag_ids and not entity_ids:
            return []
        sql, params = similar_posts_sql(tag_ids, entity_ids, post_id=post_id, limit=limit, per_key=per_key)
        return list(self.model.objects.raw(sql, params))

    def with_revision_ids(self):
        """Annotate the live (newest applied), last approved and waiting (held import) revision ids.

        Each is one index probe per post on revision_post_latest, so a page of
        posts costs no more than its rows.
        """
        revisions = (
            apps.get_model("posts", "Revision").objects.filter(post=OuterRef("pk")).order_by("-created_at", "-id")
        )
        return self.annotate(
            live_revision_id=Subquery(revisions.filter(applied=True).values("pk")[:1]),
            approved_revision_id=Subquery(revisions.filter(applied=True, approved=True).values("pk")[:1]),
            pending_revision_id=Subquery(revisions.filter(applied=False).values("pk")[:1]),
        )


def similar_posts_sql(tag_ids: list[int], entity_ids: list[int], *, post_id: int, limit: int, per_key: int):
    """The SQL of `similar_to`: candidates per tag and entity, scored by what they share."""
    from posts.models import Post, PostEntity, StackTag, ToolTag

    quote = connection.ops.quote_name
    stack, tools, links, posts = (quote(model._meta.db_table) for model in (StackTag, ToolTag, PostEntity, Post))
    candidates, params = [], []
    for table, post_column, key_column, ids in (
        (stack, "content_object_id", "tag_id", tag_ids),
        (tools, "content_object_id", "tag_id", tag_ids),
        (links, "post_id", "entity_id", entity_ids),
    ):
        for key in ids:
            candidates.append(
                f"SELECT post_id FROM (SELECT {post_column} AS post_id FROM {table} "
                f"WHERE {key_column} = %s ORDER BY {post_column} DESC LIMIT %s) AS c{len(candidates)}"
            )
            params += [key, per_key]
    shared = []
    # A tag counts once whether it is shared as stack or as tools (tag keys even, entity keys odd).
    for table, post_column, key_sql, key_column, ids in (
        (stack, "content_object_id", "tag_id * 2", "tag_id", tag_ids),
        (tools, "content_object_id", "tag_id * 2", "tag_id", tag_ids),
        (links, "post_id", "entity_id * 2 + 1", "entity_id", entity_ids),
    ):
        if ids:
            marks = ", ".join(["%s"] * len(ids))
            shared.append(
                f"SELECT {post_column} AS post_id, {key_sql} AS shared_key FROM {table} "
                f"WHERE {key_column} IN ({marks}) AND {post_column} IN (SELECT post_id FROM candidate)"
            )
            params += ids
    columns = ", ".join(f"post.{quote(name)}" for name in LIST_FIELDS)
    sql = (
        f"WITH candidate AS ({' UNION '.join(candidates)}), "
        f"shared AS ({' UNION ALL '.join(shared)}), "
        "score AS (SELECT post_id, COUNT(DISTINCT shared_key) AS score FROM shared GROUP BY post_id) "
        f"SELECT {columns}, score.score FROM score JOIN {posts} AS post ON post.id = score.post_id "
        "WHERE post.state = %s AND post.id <> %s "
        # querysets.published()'s time guards: nothing outside its schedule.
        "AND (post.publish_at IS NULL OR post.publish_at <= %s) "
        "AND (post.unpublish_at IS NULL OR post.unpublish_at > %s) "
        "ORDER BY score.score DESC, post.published_at DESC, post.id DESC LIMIT %s"
    )
    now = timezone.now()
    return sql, [*params, "published", post_id, now, now, limit]
