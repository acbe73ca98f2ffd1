"""Request timings shared by every worker and app server, without a round trip per request.

Each process counts its requests in memory: per route and minute, a duration
histogram with fixed buckets (`BOUNDS_MS`). Every `FLUSH_SECONDS` (or
`FLUSH_REQUESTS` requests) it writes its counts to the database, overwriting
its own rows (`RequestTiming`, one per minute, route and process), so a flush
that fails can be repeated and nothing is counted twice. Readers merge the rows
of all processes and compute p50/p99 from the merged histogram.

The flush runs on `request_finished`, after the response went out, so the
request that triggers it does not wait for it, and when a gunicorn worker
exits (gunicorn.conf.py). A worker that gets no request keeps its last few
seconds until its next one.
"""

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.signals import request_finished
from django.db import DatabaseError, connection

logger = logging.getLogger("alphanode.timings")

# Upper bounds of the duration buckets in milliseconds; one more bucket holds everything slower.
BOUNDS_MS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 10000)
FLUSH_SECONDS = 5.0
FLUSH_REQUESTS = 1000
# Minutes kept in memory while the database is unreachable, and rows kept in it.
MEMORY_MINUTES = 60
RETENTION = timedelta(days=2)
PRUNE_EVERY_SECONDS = 3600


@dataclass
class RouteStats:
    """Requests to one route (in one minute, or merged over a window)."""

    count: int = 0
    errors: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))

    def add_request(self, duration_ms: float, status: int) -> None:
        self.count += 1
        self.errors += status >= 500
        self.total_ms += duration_ms
        self.max_ms = max(self.max_ms, duration_ms)
        self.buckets[bisect_left(BOUNDS_MS, duration_ms)] += 1

    def merge(self, count: int, errors: int, total_ms: float, max_ms: float, buckets: list[int]) -> None:
        self.count += count
        self.errors += errors
        self.total_ms += total_ms
        self.max_ms = max(self.max_ms, max_ms)
        for index, value in enumerate(buckets[: len(self.buckets)]):
            self.buckets[index] += value

    def percentile(self, fraction: float) -> float | None:
        """The duration below which `fraction` of the requests fall, interpolated inside its bucket."""
        if not self.count:
            return None
        rank = fraction * self.count
        seen = 0
        for index, in_bucket in enumerate(self.buckets):
            if in_bucket and seen + in_bucket >= rank:
                lower = BOUNDS_MS[index - 1] if index else 0.0
                upper = min(BOUNDS_MS[index] if index < len(BOUNDS_MS) else self.max_ms, self.max_ms)
                lower = min(lower, upper)
                return lower + (upper - lower) * (rank - seen) / in_bucket
            seen += in_bucket
        return self.max_ms

    @property
    def p50(self) -> float | None:
        return self.percentile(0.50)

    @property
    def p99(self) -> float | None:
        return self.percentile(0.99)

    @property
    def mean_ms(self) -> float | None:
        return self.total_ms / self.count if self.count else None


class TimingRecorder:
    """This process's counts, flushed to `RequestTiming` rows every few seconds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        # A new identity after fork: the child must not overwrite its parent's rows.
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._minutes: dict[tuple[int, str], RouteStats] = {}
        self._dirty: set[tuple[int, str]] = set()
        self._unflushed = 0
        self._last_flush = time.monotonic()
        self._last_prune = 0.0

    def clear(self) -> None:
        """Forget the unflushed counts (tests start each case from nothing)."""
        with self._lock:
            self._reset()

    def record(self, route: str, status: int, duration_ms: float, now: float | None = None) -> None:
        """Count one request; costs a dict lookup and a bisect, no I/O."""
        key = (int((time.time() if now is None else now) // 60), route)
        with self._lock:
            stats = self._minutes.get(key)
            if stats is None:
                stats = self._minutes[key] = RouteStats()
            stats.add_request(duration_ms, status)
            self._dirty.add(key)
            self._unflushed += 1

    def flush_due(self) -> bool:
        return self._unflushed >= FLUSH_REQUESTS or (
            self._unflushed > 0 and time.monotonic() - self._last_flush >= FLUSH_SECONDS
        )

    def flush(self, now: float | None = None) -> int:
        """Write the changed minutes to the database; returns the rows written (0 if it failed)."""
        from alphanode.ops.models import RequestTiming

        now = time.time() if now is None else now
        with self._lock:
            dirty = {key: self._minutes[key] for key in self._dirty}
            rows = [
                RequestTiming(
                    minute=datetime.fromtimestamp(minute * 60, UTC),
                    route=route[:300],
                    worker=self.worker,
                    count=stats.count,
                    errors=stats.errors,
                    total_ms=stats.total_ms,
                    max_ms=stats.max_ms,
                    buckets=list(stats.buckets),
                )
                for (minute, route), stats in dirty.items()
            ]
            self._dirty.clear()
            unflushed, self._unflushed = self._unflushed, 0
            self._last_flush = time.monotonic()
        try:
            with _brief_lock_wait():
                RequestTiming.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["minute", "route", "worker"],
                    update_fields=["count", "errors", "total_ms", "max_ms", "buckets"],
                )
                self._prune_if_due(now)
        except DatabaseError as error:
            # Keep the counts: the next flush writes them (rows are overwritten, never added to).
            with self._lock:
                self._dirty.update(dirty)
                self._unflushed += unflushed
            logger.warning("request timings not saved, will retry: %s: %s", type(error).__name__, error)
            return 0
        finally:
            self._forget_old_minutes(now)
        return len(rows)

    def _forget_old_minutes(self, now: float) -> None:
        """Drop finished minutes once saved (and any minute past MEMORY_MINUTES), so memory stays bounded."""
        current = int(now // 60)
        with self._lock:
            for key in list(self._minutes):
                minute = key[0]
                saved = key not in self._dirty
                if (minute < current and saved) or minute < current - MEMORY_MINUTES:
                    del self._minutes[key]
                    self._dirty.discard(key)

    def _prune_if_due(self, now: float) -> None:
        from alphanode.ops.models import RequestTiming

        if now - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now
        RequestTiming.objects.filter(minute__lt=datetime.fromtimestamp(now, UTC) - RETENTION).delete()


@contextlib.contextmanager
def _brief_lock_wait():
    """On SQLite, give up on a busy database after 100 ms instead of the usual 30 s.

    The flush runs in a request worker between requests; while an import holds
    SQLite's single write lock, waiting for it would stall every worker. The
    counts stay in memory and the next flush writes them.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        previous = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute("PRAGMA busy_timeout = 100")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")


recorder = TimingRecorder()
os.register_at_fork(after_in_child=recorder._reset)


def _flush_when_due(**kwargs) -> None:
    if recorder.flush_due():
        recorder.flush()


request_finished.connect(_flush_when_due, dispatch_uid="alphanode-timings-flush")


def route_stats(since: datetime, until: datetime | None = None) -> dict[str, RouteStats]:
    """Requests per route between `since` and `until`, merged over every process that reported."""
    from alphanode.ops.models import RequestTiming

    rows = RequestTiming.objects.filter(minute__gte=since)
    if until is not None:
        rows = rows.filter(minute__lt=until)
    merged: dict[str, RouteStats] = {}
    for route, count, errors, total_ms, max_ms, buckets in rows.values_list(
        "route", "count", "errors", "total_ms", "max_ms", "buckets"
    ).iterator():
        merged.setdefault(route, RouteStats()).merge(count, errors, total_ms, max_ms, buckets)
    return merged


def overall(stats: dict[str, RouteStats]) -> RouteStats:
    """All routes together."""
    total = RouteStats()
    for route in stats.values():
        total.merge(route.count, route.errors, route.total_ms, route.max_ms, route.buckets)
    return total
