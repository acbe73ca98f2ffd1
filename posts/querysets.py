"""Reads: the questions the site asks about posts, as QuerySet methods."""

from django.db import models
from django.db.models import Q


class PostQuerySet(models.QuerySet):
    def published(self):
        return self.filter(state="published")

    def flagged(self):
        """Posts that wait for a human: flagged by the generator or holding a held-back import."""
        return self.filter(Q(needs_human_review=True) | Q(ai_generated_style=True) | Q(pending_import=True))

    def indexable(self):
        """Published posts search engines may index (not waiting for review)."""
        return self.published().filter(needs_human_review=False)

    def with_record_parts(self):
        """Prefetch what `records.record_from_post` needs, in record order."""
        return self.prefetch_related("stack_items__tag", "tool_items__tag", "entity_links__entity", "image_sources")
