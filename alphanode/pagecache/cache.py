"""Cached pages: their keys, their stored form, and the shared store with this process's copy."""

import functools
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, QueryDict
from django.urls import Resolver404, resolve

from alphanode.pagecache.stores import RedisStore, SqliteStore


def config(name: str):
    return settings.PAGECACHE[name]


@dataclass(frozen=True, slots=True)
class Route:
    """What the view of a path declared (tagging.page_query): the query it reads, a cap on its lifetime."""

    query: tuple[str, ...] = ()
    max_seconds: int | None = None


def route_of(path: str) -> Route:
    """The declaration of the view this path resolves to; no query and no cap for anything else."""
    if len(path) > 256:  # real routes are short; long made-up ones would crowd the memo
        return _resolve_route(settings.ROOT_URLCONF, path)
    return _remembered_route(settings.ROOT_URLCONF, path)


def _resolve_route(urlconf: str, path: str) -> Route:
    try:
        view = resolve(path, urlconf).func
    except Resolver404:
        return Route()
    return Route(getattr(view, "page_query", ()), getattr(view, "page_max_seconds", None))


# Resolving costs about 60 µs, a fifth of a hit: remember the paths this process serves.
_remembered_route = functools.lru_cache(maxsize=4096)(_resolve_route)


def cache_key(path: str, query: QueryDict, names: tuple[str, ...]) -> str:
    """The key of a page: its path plus the first value of each query parameter its route reads, in a fixed order."""
    kept = [(name, value) for name in names for value in query.getlist(name)[:1]]
    return f"{path}?{urlencode(kept)}" if kept else path


@dataclass(slots=True)
class CachedPage:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    created: float
    etag: str
    tags: list[str]
    # Fresh until then; the store keeps it longer (STALE_SECONDS) to serve when rendering fails.
    expires: float
    # The page changes at `expires` (tagging.expire_page_at, a scheduled publication): never served after it.
    final: bool = False
    # Compressed copies of the body by encoding, made once when stored (compression.py).
    copies: dict[str, bytes] = field(default_factory=dict)

    def encode(self) -> bytes:
        head = {
            "s": self.status,
            "h": self.headers,
            "c": self.created,
            "e": self.etag,
            "t": self.tags,
            "x": self.expires,
        }
        if self.final:
            head["f"] = 1
        # The body, then each compressed copy, after the JSON line that gives their lengths.
        head["z"] = [[encoding, len(data)] for encoding, data in self.copies.items()]
        return b"".join([json.dumps(head, separators=(",", ":")).encode(), b"\n", *self.copies.values(), self.body])

    @classmethod
    def decode(cls, data: bytes) -> "CachedPage":
        head, _, rest = data.partition(b"\n")
        meta = json.loads(head)
        copies, position = {}, 0
        for encoding, length in meta.get("z", []):
            copies[encoding] = rest[position : position + length]
            position += length
        body = rest[position:]
        # Entries stored before "x" existed lived exactly SECONDS.
        expires = meta.get("x", meta["c"] + config("SECONDS"))
        headers = [tuple(pair) for pair in meta["h"]]
        return cls(
            meta["s"], headers, body, meta["c"], meta["e"], meta["t"], expires, bool(meta.get("f")), copies=copies
        )

    @property
    def seconds(self) -> int:
        """Its fresh lifetime, what a CDN is told (s-maxage)."""
        return int(self.expires - self.created)  # never past `expires`

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status)
        for name, value in self.headers:
            response[name] = value
        return response


# -- The shared store and this process's copy ------------------------------------


class PageCache:
    """The shared store plus a small per-process copy validated by the purge generation."""

    def __init__(self, store, *, local_entries: int, local_seconds: float, stale_seconds: int = 0):
        self.store = store
        self.stale_seconds = stale_seconds
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

    def get(self, key: str, *, fresh: bool = False) -> CachedPage | None:
        generation = self.generation(fresh=fresh)
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
        """Store `page` for `ttl` plus stale_seconds; False when a purge since `since` refused it."""
        stored = self.store.set(key, page.encode(), page.tags, ttl + self.stale_seconds, since)
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
        if config("BACKEND") == "redis":
            store = RedisStore(config("LOCATION"), config("KEY_PREFIX"), max_entries=config("MAX_ENTRIES"))
        else:
            store = SqliteStore(config("LOCATION"), max_entries=config("MAX_ENTRIES"))
        _cache = PageCache(
            store,
            local_entries=config("LOCAL_ENTRIES"),
            local_seconds=config("LOCAL_SECONDS"),
            stale_seconds=config("STALE_SECONDS"),
        )
    return _cache


def reset() -> None:
    """Forget this process's cache object (settings changed, e.g. in tests)."""
    global _cache
    _cache = None
