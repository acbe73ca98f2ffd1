"""Scheduled publishing without cron: the site notices due events on its own requests.

A post's `publish_at` / `unpublish_at` decide what readers see to the second
(querysets.published() compares them with the time of the query), so no page
is ever rendered with the wrong content. What is left to do at the event is
bookkeeping: clear the schedule (a due unpublish_at makes the post a draft),
write a revision and purge the pages. `ScheduleMiddleware` does it:

- Each process knows the next event time, read from the database (two index
  probes) at most every SCHEDULE_CHECK_SECONDS (0.25 s); no query per request.
- The first request past that time applies every due event before the page
  cache is consulted (services.posts_apply_schedule: one transaction behind
  the write lock; on PostgreSQL a try-lock first, so only one worker waits for
  it while the others serve). A second worker finds nothing due: exactly once.
  That worker then re-reads the page cache's purge generation, so it serves no
  copy the purge removed.
- Every page rendered while an event is pending is stored only until the next
  event (pagecache.tagging.expire_page_at), so no cached page outlives a
  scheduled change, on any server (docs/page-cache.md).

On a site without traffic the next request applies the event before it is
served. `manage.py publish_scheduled` applies due events for those who want a
timer anyway.
"""

import logging
import math
import time
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from alphanode.pagecache.cache import page_cache
from alphanode.pagecache.stores import StoreError
from alphanode.pagecache.tagging import expire_page_at
from posts import services
from posts.models import Post

logger = logging.getLogger("alphanode.schedule")

# Taken with pg_try_advisory_xact_lock by the worker that applies due events.
SCHEDULE_LOCK_KEY = 0x7363686564  # "sched"
FAILURE_BACKOFF = 5.0


def next_scheduled_event() -> datetime | None:
    """The earliest publish_at or unpublish_at still to apply (two probes of partial indexes)."""
    found = Post.objects.aggregate(publish=Min("publish_at"), unpublish=Min("unpublish_at"))
    times = [value for value in found.values() if value is not None]
    return min(times) if times else None


def upcoming_events(limit: int = 200) -> list[tuple[datetime, str, Post]]:
    """(time, "publish" | "unpublish", post) for the next `limit` events, soonest first."""
    columns = ("id", "title", "slug", "state", "publish_at", "unpublish_at")
    events = []
    for field, kind in (("publish_at", "publish"), ("unpublish_at", "unpublish")):
        posts = Post.objects.filter(**{f"{field}__isnull": False}).order_by(field, "id").only(*columns)[:limit]
        events += [(getattr(post, field), kind, post) for post in posts]
    return sorted(events, key=lambda event: (event[0], event[2].pk))[:limit]


def apply_due(*, now: datetime | None = None, wait: bool = True) -> list[services.PostChange] | None:
    """Apply the events due at `now` (exactly once across processes); None when another worker holds the lock.

    wait=False (the request path) gives up at once on PostgreSQL when another
    worker is applying; SQLite's IMMEDIATE transactions always queue.
    """
    with transaction.atomic():
        if not wait and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SCHEDULE_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return None
        return services.posts_apply_schedule(now=now)


class EventClock:
    """This process's copy of the next event time, re-read at most every `seconds`."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._next: datetime | None = None
        self._read_at = -math.inf
        self._tried_at = -math.inf

    def next_event(self) -> datetime | None:
        now = time.monotonic()
        if now - self._read_at >= self.seconds:
            try:
                self._next = next_scheduled_event()
            except DatabaseError:
                # Database down: one request in every FAILURE_BACKOFF seconds pays for finding out.
                self._read_at = now + FAILURE_BACKOFF
                raise
            self._read_at = now
        return self._next

    def should_apply(self, next_at: datetime | None) -> bool:
        """An event is due and this process has not tried it within `seconds` (another worker may hold it)."""
        if next_at is None or next_at > timezone.now():
            return False
        now = time.monotonic()
        if now - self._tried_at < self.seconds:
            return False
        self._tried_at = now
        return True

    def reset(self, *, known_next: datetime | None = None) -> None:
        """Take `known_next` as just read, and no event as tried (tests: the database was rolled back)."""
        self._next, self._read_at, self._tried_at = known_next, time.monotonic(), -math.inf

    def forget(self) -> None:
        """Read the next event again on the next request (a schedule was written)."""
        self._read_at = -math.inf


clock = EventClock(settings.SCHEDULE_CHECK_SECONDS)


class ScheduleMiddleware:
    """Applies due scheduled events before the page cache answers, and caps cached pages at the next one.

    Sits just above alphanode.pagecache's middleware (settings.MIDDLEWARE): it
    must run before the cache lookup, and the cap it sets on the request is
    read when the page cache stores the response.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            next_at = clock.next_event()
            if clock.should_apply(next_at):
                apply_due(wait=False)
                clock.forget()
                next_at = clock.next_event()
                # Whoever applied it purged: drop this process's copies now, not within LOCAL_SECONDS.
                page_cache().generation(fresh=True)
        except (DatabaseError, StoreError) as error:
            # The page cache (or /health) can still answer; the next request tries again.
            logger.warning("scheduled publishing check failed: %s", error)
            next_at = timezone.now()  # store nothing: the schedule is unknown
        if next_at is not None:
            expire_page_at(request, next_at)
        return self.get_response(request)
