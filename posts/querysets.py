"""Reads: the questions the site asks about posts, as QuerySet methods."""

from django.apps import apps
from django.db import connection, models
from django.db.models import OuterRef, Prefetch, Q, Subquery

# Fields a list entry shows (home, tags, entities, topics, similar posts).
LIST_FIELDS = ("id", "slug", "title", "topic", "summary", "published_at", "updated_at", "reading_time", "difficulty")

# Posts that wait for a human: flagged by the generator, holding a held-back
# import, or written in an AI style that no reviewer has approved yet. The
# partial index `post_review_queue` has this exact condition, so PostgreSQL
# can use it for every query on the queue.
REVIEW_QUEUE = (
    Q(needs_human_review=True) | Q(pending_import=True) | Q(ai_generated_style=True, reviewed_by__isnull=True)
)


class PostQuerySet(models.QuerySet):
    def published(self):
        return self.filter(state="published")

    def flagged(self):
        """Posts in the review queue (see REVIEW_QUEUE)."""
        return self.filter(REVIEW_QUEUE)

    def indexable(self):
        """Published posts search engines may index (not waiting for review)."""
        return self.published().filter(needs_human_review=False)

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
        "ORDER BY score.score DESC, post.published_at DESC, post.id DESC LIMIT %s"
    )
    return sql, [*params, "published", post_id, limit]
