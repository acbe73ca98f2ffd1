"""Signals: only for telling caches that posts changed (sent after the commit)."""

from django.dispatch import Signal

# Sent once per committed write with `changes`, a list of services.PostChange.
posts_changed = Signal()
