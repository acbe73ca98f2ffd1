"""The purge log: every purge of the page cache, what it removed and who asked."""

from django.conf import settings
from django.db import models


class PurgeLog(models.Model):
    """One page-cache purge: what was purged, why, how many pages, and whether it worked."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.CharField(max_length=200)
    tags = models.TextField(blank=True, help_text="Cache tags purged, one per line.")
    routes = models.TextField(blank=True, help_text="Cached routes removed (at most 1,000), one per line.")
    pages = models.PositiveIntegerField(default=0, help_text="Cached pages removed.")
    succeeded = models.BooleanField(default=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    edges = models.TextField(blank=True, help_text="Per edge (EDGE_PURGE_URLS): objects purged, or the error.")
    edges_pending = models.TextField(blank=True, help_text="Edges still to purge (retried), one per line.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        # Created by the posts app before the app split; the table keeps its name.
        db_table = "posts_purgelog"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["succeeded", "-created_at"], name="purgelog_failed_recent")]

    def __str__(self):
        return f"purge {self.created_at:%Y-%m-%d %H:%M:%S}: {self.reason} ({self.pages} pages)"
