"""Purging: remove pages by cache tag or route, record each purge, retry the ones that failed.

Callers say what changed as cache tags (posts/cache_tags.py knows which tags a
post change touches); this module knows how to remove those pages from the
shared store and keeps the purge log.
"""

import logging
import time
from dataclasses import dataclass

from django.db import DatabaseError

from alphanode.pagecache import edges
from alphanode.pagecache.cache import config, page_cache
from alphanode.pagecache.models import PurgeLog
from alphanode.pagecache.stores import StoreError
from alphanode.pagecache.tagging import path_tag

logger = logging.getLogger("alphanode.pagecache")


@dataclass
class PurgeResult:
    pages: int
    keys: list[str]
    succeeded: bool
    log: PurgeLog | None
    edge: edges.EdgePurge | None = None


def purge(*, tags=(), routes=(), everything: bool = False, reason: str, user=None, attempts: int = 3) -> PurgeResult:
    """Purge pages by cache tag and/or route (a path), or everything, and record it.

    Store failures are retried `attempts` times; a purge that still fails is
    recorded with succeeded=False and retried by the next purge (any process),
    by any worker once the store answers again (retry_failed_when_due), or by
    `manage.py purge_cache --retry-failed`. Never raises for store errors.
    """
    tags = sorted({*tags, *(path_tag(route) for route in routes)})
    pages, keys, error = 0, [], ""
    for attempt in range(1, attempts + 1):
        try:
            if everything:
                pages = page_cache().purge_all()
            elif tags:
                keys = page_cache().purge(tags)
                pages = len(keys)
            error = ""
            break
        except StoreError as failure:
            error = str(failure)
            logger.error("purge failed (attempt %d of %d): %s", attempt, attempts, error)
            if attempt < attempts:
                time.sleep(0.1 * 2**attempt)
    # The edges after the store: an edge refetching a page must not get the old one from it.
    edge = edges.not_purged(error) if error else edges.purge_edges(tags, everything=everything, attempts=attempts)
    succeeded = not error and edge.succeeded
    log = _record(reason=reason, tags=tags, keys=keys, everything=everything, pages=pages, user=user,
                  succeeded=succeeded, error=error or edge.error, attempts=attempt, edge=edge)  # fmt: skip
    if succeeded:
        retry_failed()
    return PurgeResult(pages=pages, keys=keys, succeeded=succeeded, log=log, edge=edge)


def _record(*, reason, tags, keys, everything, pages, user, succeeded, error, attempts, edge) -> PurgeLog | None:
    try:
        return PurgeLog.objects.create(
            reason=reason[:200],
            tags="*" if everything else "\n".join(tags),
            routes="\n".join(keys[:1000]),
            pages=pages,
            succeeded=succeeded,
            error=error,
            attempts=attempts,
            edges=edge.summary(),
            edges_pending="\n".join(edge.pending),
            user=user if user is not None and user.is_authenticated else None,
        )
    except DatabaseError as failure:
        logger.error("could not record a purge (%s); purged %s pages for %s", failure, pages, reason)
        return None


def retry_failed(limit: int = 100) -> int:
    """Re-run purges that failed earlier; returns how many succeeded now."""
    done = 0
    for log in PurgeLog.objects.filter(succeeded=False).order_by("created_at")[:limit]:
        tags = [] if log.tags == "*" else [tag for tag in log.tags.splitlines() if tag]
        try:
            pages = page_cache().purge_all() if log.tags == "*" else len(page_cache().purge(tags))
        except StoreError as failure:
            PurgeLog.objects.filter(pk=log.pk).update(attempts=log.attempts + 1, error=str(failure))
            break
        edge = edges.purge_edges(tags, everything=log.tags == "*", urls=log.edges_pending.split(), attempts=1)
        PurgeLog.objects.filter(pk=log.pk).update(
            succeeded=edge.succeeded, attempts=log.attempts + 1, pages=pages, error=edge.error,
            edges="\n".join(filter(None, [log.edges, edge.summary()])), edges_pending="\n".join(edge.pending),
        )  # fmt: skip
        if not edge.succeeded:
            break
        done += 1
    return done


def pending_failed() -> int:
    """How many failed purges wait for a retry (their pages may be stale until then)."""
    return PurgeLog.objects.filter(succeeded=False).count()


# When this process last looked for failed purges; the first look is RETRY_SECONDS after it started.
_last_retry_check = time.monotonic()


def retry_failed_when_due(**kwargs) -> int:
    """After a request: at most every PAGECACHE["RETRY_SECONDS"], retry failed purges if any wait.

    The look is one indexed EXISTS query (purgelog_failed_recent); the retry
    itself runs only when a purge failed, and stops at the first store error.
    """
    global _last_retry_check
    now = time.monotonic()
    if now - _last_retry_check < config("RETRY_SECONDS"):
        return 0
    _last_retry_check = now
    try:
        if not PurgeLog.objects.filter(succeeded=False).exists():
            return 0
        done = retry_failed()
    except DatabaseError as error:
        logger.warning("could not look for failed purges: %s", error)
        return 0
    if done:
        logger.info("retried %d failed purge(s)", done)
    return done
