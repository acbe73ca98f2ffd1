"""The full-page cache: which pages show what (cache tags), serving pages, purging them.

Only this module knows about cache keys and routes. Views say what a page
shows by tagging the request:

    pagecache.tag_page(request, pagecache.post_tag(post.pk), pagecache.listing_tag("stack", tag.slug))

A post tag (`post:<id>`) goes on every page that shows the post (its article,
list entries, similar-post entries, feed items); the article route also
carries `slug:<slug>` (set before the lookup, so a 404 for a slug that a new
post later takes is purged with it). A listing tag
(`list:home`, `list:stack:<slug>`, ...) goes on every page of a listing, so
that a post joining or leaving the listing purges all of its pages. Every
stored page also carries `path:<path>`, so a route can be purged by hand.

Rules (docs/page-cache.md has the long form):
- Only anonymous GET/HEAD requests for tagged pages are stored, keyed by the
  path plus the allowlisted query parameters (`page`, `q`); other parameters
  are dropped before the view runs, so they can neither bust nor poison the
  cache. Pages render for the canonical SITE_URL host whatever Host was sent.
- A request carrying a session cookie (editors) bypasses the cache: live
  content, `Cache-Control: private, no-store`, and nothing is stored.
- Stored: 200, 301 and 404 responses without cookies. Not stored: anything else.
- Each process keeps a small copy of recently served pages and trusts it while
  the shared purge generation is unchanged; it re-reads the generation at most
  every PAGECACHE["LOCAL_SECONDS"] (0.5 s), so another server's purge shows
  everywhere within that time without a round trip per request.
- Purges run after the transaction commits (the posts_changed signal), are
  recorded in PurgeLog, retried three times, and a purge that still fails is
  kept (succeeded=False) and retried by the next purge or `purge_cache --retry-failed`.
"""

import hashlib
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import DatabaseError
from django.dispatch import receiver
from django.http import HttpResponse, QueryDict
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from posts.models import PurgeLog
from posts.pagecache_stores import RedisStore, SqliteStore, StoreError
from posts.signals import posts_changed

logger = logging.getLogger("alphanode.pagecache")

LISTING_KINDS = ("home", "stack", "tools", "entity", "topic", "feed", "sitemap", "search")
STORED_STATUSES = (200, 301, 404)
# Response headers a cached page keeps; everything else is rebuilt per response.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Location", "X-Robots-Tag", "Link", "Vary")


# -- What a page shows ---------------------------------------------------------


def post_tag(post_id: int) -> str:
    """The tag of every page that shows this post."""
    return f"post:{post_id}"


def listing_tag(kind: str, slug: str = "") -> str:
    """The tag of every page of one listing (home, one tag's pages, the feeds, the sitemap...)."""
    if kind not in LISTING_KINDS:
        raise ValueError(f"unknown listing kind {kind!r}; expected one of {', '.join(LISTING_KINDS)}")
    return f"list:{kind}:{slug}" if slug else f"list:{kind}"


def path_tag(path: str) -> str:
    """The tag every cached variant of one route carries."""
    return f"path:{path}"


def slug_tag(slug: str) -> str:
    """The tag of the article route for `slug`, including its 404 page before the post exists."""
    return f"slug:{slug}"


def tag_page(request, *tags: str) -> None:
    """Record what this response shows; the middleware stores the page under these tags."""
    if not hasattr(request, "cache_tags"):
        request.cache_tags = set()
    request.cache_tags.update(tags)


def tags_for_change(change) -> set[str]:
    """The cache tags to purge for one services.PostChange: what showed it, and the listings it joined or left."""
    tags = {post_tag(change.post_id)}
    placements = [placement for placement in (change.before, change.after) if placement is not None]
    tags.update(slug_tag(placement.slug) for placement in placements)
    listed = [placement for placement in placements if placement.published]
    if not listed:
        return tags  # never visible to readers: only its own (staff-only) article
    tags.update({listing_tag("sitemap"), listing_tag("search")})
    before = change.before if change.before and change.before.published else None
    after = change.after if change.after and change.after.published else None
    if before is None or after is None:
        # Joined or left the site: every listing it is (or was) in gains or loses an entry.
        tags.update({listing_tag("home"), listing_tag("feed")})
        joined_or_left = _listings(before or after)
    else:
        # Still listed: only the listings it moved into or out of change membership.
        joined_or_left = _listings(before) ^ _listings(after)
    tags.update(joined_or_left)
    return tags


def _listings(placement) -> set[str]:
    return (
        {listing_tag("stack", slug) for slug in placement.stack}
        | {listing_tag("tools", slug) for slug in placement.tools}
        | {listing_tag("entity", slug) for slug in placement.entities}
        | ({listing_tag("topic", placement.topic)} if placement.topic else set())
    )


# -- Keys and entries ----------------------------------------------------------


def _config(name: str):
    return settings.PAGECACHE[name]


def cache_key(path: str, query: QueryDict) -> str:
    """The route: path plus the allowlisted query parameters, in a fixed order."""
    kept = [(name, value) for name in _config("QUERY_PARAMS") for value in query.getlist(name)[:1]]
    return f"{path}?{urlencode(kept)}" if kept else path


@dataclass(slots=True)
class CachedPage:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    created: float
    etag: str
    tags: list[str]

    def encode(self) -> bytes:
        head = {"s": self.status, "h": self.headers, "c": self.created, "e": self.etag, "t": self.tags}
        return json.dumps(head, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, data: bytes) -> "CachedPage":
        head, _, body = data.partition(b"\n")
        meta = json.loads(head)
        return cls(meta["s"], [tuple(pair) for pair in meta["h"]], body, meta["c"], meta["e"], meta["t"])

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status)
        for name, value in self.headers:
            response[name] = value
        return response


# -- The shared store and this process's copy ------------------------------------


class PageCache:
    """The shared store plus a small per-process copy validated by the purge generation."""

    def __init__(self, store, *, local_entries: int, local_seconds: float):
        self.store = store
        self.local_entries = local_entries
        self.local_seconds = local_seconds
        self._local: OrderedDict[str, tuple[int, CachedPage]] = OrderedDict()
        self._generation = -1
        self._generation_read_at = 0.0

    def generation(self, *, fresh: bool = False) -> int:
        now = time.monotonic()
        if fresh or now - self._generation_read_at >= self.local_seconds:
            self._generation = self.store.generation()
            self._generation_read_at = now
        return self._generation

    def get(self, key: str) -> CachedPage | None:
        generation = self.generation()
        local = self._local.get(key)
        if local is not None and local[0] == generation:
            self._local.move_to_end(key)
            return local[1]
        data = self.store.get(key)
        if data is None:
            self._local.pop(key, None)
            return None
        page = CachedPage.decode(data)
        self._remember(key, generation, page)
        return page

    def set(self, key: str, page: CachedPage, *, ttl: int, since: int) -> bool:
        stored = self.store.set(key, page.encode(), page.tags, ttl, since)
        if stored:
            self._remember(key, since, page)
        return stored

    def _remember(self, key: str, generation: int, page: CachedPage) -> None:
        self._local[key] = (generation, page)
        self._local.move_to_end(key)
        while len(self._local) > self.local_entries:
            self._local.popitem(last=False)

    def purge(self, tags: list[str]) -> list[str]:
        generation, keys = self.store.purge(tags)
        self._after_purge(generation)
        return keys

    def purge_all(self) -> int:
        generation, removed = self.store.purge_all()
        self._after_purge(generation)
        return removed

    def _after_purge(self, generation: int) -> None:
        # This process knows at once; the others within local_seconds.
        self._local.clear()
        self._generation = generation
        self._generation_read_at = time.monotonic()


_cache: PageCache | None = None


def page_cache() -> PageCache:
    """The configured page cache of this process (Redis or SQLite, from settings.PAGECACHE)."""
    global _cache
    if _cache is None:
        if _config("BACKEND") == "redis":
            store = RedisStore(_config("LOCATION"), _config("KEY_PREFIX"))
        else:
            store = SqliteStore(_config("LOCATION"))
        _cache = PageCache(store, local_entries=_config("LOCAL_ENTRIES"), local_seconds=_config("LOCAL_SECONDS"))
    return _cache


def reset() -> None:
    """Forget this process's cache object (settings changed, e.g. in tests)."""
    global _cache
    _cache = None


# -- Serving -------------------------------------------------------------------


def _bypasses(request) -> bool:
    """Requests the cache never serves or stores: writes, editors (a session), excluded paths."""
    if not _config("ENABLED") or request.method not in ("GET", "HEAD"):
        return True
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return True
    return request.path_info.startswith(tuple(_config("EXCLUDED_PREFIXES")))


def _public_headers(response, page: CachedPage, *, age: int) -> None:
    response["Cache-Control"] = f"public, max-age={_config('BROWSER_SECONDS')}, s-maxage={_config('SECONDS')}"
    response["Age"] = str(max(age, 0))
    response["ETag"] = page.etag
    response["Last-Modified"] = http_date(page.created)
    response["Surrogate-Key"] = " ".join(page.tags)


class PageCacheMiddleware:
    """Serves anonymous reader pages from the shared page cache and stores the ones views tagged."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _bypasses(request):
            response = self.get_response(request)
            if settings.SESSION_COOKIE_NAME in request.COOKIES or getattr(request, "cache_tags", None):
                response["Cache-Control"] = "private, no-store"
            response["X-Cache"] = "BYPASS"
            return response
        request.get_host()  # hits too: a host outside ALLOWED_HOSTS gets 400, never a page
        key = cache_key(request.path_info, request.GET)
        cache = page_cache()
        try:
            page = cache.get(key)
            since = cache.generation(fresh=True) if page is None else None
        except StoreError as error:
            logger.warning("page cache unavailable, serving live: %s", error)
            return self._live(request, key, None)
        if page is not None:
            return self._hit(request, page)
        return self._live(request, key, since)

    def _hit(self, request, page: CachedPage):
        age = int(time.time() - page.created)
        response = get_conditional_response(request, etag=page.etag, last_modified=int(page.created))
        if response is None:
            response = page.response()
        _public_headers(response, page, age=age)
        response["X-Cache"] = "HIT"
        return response

    def _live(self, request, key: str, since: int | None):
        # The view sees only what the key says: no other parameters, the canonical host.
        request.GET = _allowlisted(request.GET)
        _use_canonical_host(request)
        response = self.get_response(request)
        tags = getattr(request, "cache_tags", None)
        if since is None or not tags or not _storable(request, response):
            response["X-Cache"] = "MISS" if tags else "BYPASS"
            return response
        page = CachedPage(
            status=response.status_code,
            headers=[(name, response[name]) for name in KEPT_HEADERS if name in response],
            body=response.content,
            created=time.time(),
            etag=f'"{hashlib.sha256(response.content).hexdigest()[:32]}"',
            tags=sorted({*tags, path_tag(request.path_info)}),
        )
        ttl = _config("SECONDS") if response.status_code == 200 else _config("SHORT_SECONDS")
        try:
            page_cache().set(key, page, ttl=ttl, since=since)
        except StoreError as error:
            logger.warning("page cache unavailable, page not stored: %s", error)
        _public_headers(response, page, age=0)
        response["X-Cache"] = "MISS"
        return response


def _allowlisted(query: QueryDict) -> QueryDict:
    kept = QueryDict(mutable=True)
    for name in _config("QUERY_PARAMS"):
        values = query.getlist(name)[:1]
        if values:
            kept.setlist(name, values)
    kept._mutable = False
    return kept


def _use_canonical_host(request) -> None:
    """Render for SITE_URL's host and scheme, so the Host header never decides what is stored."""
    site = urlsplit(settings.SITE_URL)
    request.META["HTTP_HOST"] = site.netloc
    request.META.pop("HTTP_X_FORWARDED_HOST", None)
    request.META["wsgi.url_scheme"] = site.scheme


def _storable(request, response) -> bool:
    return (
        request.method == "GET"
        and response.status_code in STORED_STATUSES
        and not response.cookies
        and not getattr(response, "streaming", False)
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
        and not getattr(request, "csrf_cookie_needs_update", False)
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


# -- Purging -------------------------------------------------------------------


@dataclass
class PurgeResult:
    pages: int
    keys: list[str]
    succeeded: bool
    log: PurgeLog | None


def purge(*, tags=(), routes=(), everything: bool = False, reason: str, user=None, attempts: int = 3) -> PurgeResult:
    """Purge pages by cache tag and/or route (a path), or everything, and record it.

    Store failures are retried `attempts` times; a purge that still fails is
    recorded with succeeded=False and retried by the next purge (any process)
    or by `manage.py purge_cache --retry-failed`. Never raises for store errors.
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
    succeeded = not error
    log = _record(reason=reason, tags=tags, keys=keys, everything=everything, pages=pages, user=user,
                  succeeded=succeeded, error=error, attempts=attempt)  # fmt: skip
    if succeeded:
        retry_failed()
    return PurgeResult(pages=pages, keys=keys, succeeded=succeeded, log=log)


def _record(*, reason, tags, keys, everything, pages, user, succeeded, error, attempts) -> PurgeLog | None:
    try:
        return PurgeLog.objects.create(
            reason=reason[:200],
            tags="*" if everything else "\n".join(tags),
            routes="\n".join(keys[:1000]),
            pages=pages,
            succeeded=succeeded,
            error=error,
            attempts=attempts,
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
        PurgeLog.objects.filter(pk=log.pk).update(succeeded=True, attempts=log.attempts + 1, pages=pages)
        done += 1
    return done


def purge_changes(changes, *, reason: str, user=None) -> PurgeResult:
    """Purge everything a batch of post changes affects, in one purge."""
    tags = set()
    for change in changes:
        tags |= tags_for_change(change)
    return purge(tags=tags, reason=f"{reason} ({len(changes)} posts)", user=user)


@receiver(posts_changed)
def purge_on_post_change(sender, changes, **kwargs):
    purge_changes(changes, reason=kwargs.get("reason", "posts changed"))


def purge_posts(posts, *, reason: str, user=None) -> PurgeResult:
    """Purge every page that shows these posts (their articles, list entries, similar-post entries)."""
    tags = {tag for post in posts for tag in (post_tag(post.pk), slug_tag(post.slug))}
    return purge(tags=tags, reason=reason, user=user)
