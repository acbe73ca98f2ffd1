"""Reads: the questions the site asks about posts, as QuerySet methods."""

from django.apps import apps
from django.db import models
from django.db.models import OuterRef, Q, Subquery

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
        """Prefetch what `records.record_from_post` needs, in record order."""
        return self.prefetch_related("stack_items__tag", "tool_items__tag", "entity_links__entity", "image_sources")

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
