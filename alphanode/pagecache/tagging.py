"""What a page shows and what it reads: cache tags a view puts on the request, and the query a route uses.

Tags travel in the `Surrogate-Key` header, space-separated, and a CDN or
Varnish (xkey) purges by them; so every tag is one header token of
[A-Za-z0-9:._%-] whatever a URL held (`cache_tag`).
"""

import hashlib
import re

_TOKEN = re.compile(r"[A-Za-z0-9:._-]+")
_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-")


def cache_tag(text: str) -> str:
    """`text` as a header token: characters outside [A-Za-z0-9:._-] percent-encoded as UTF-8 (so `%` is too)."""
    if _TOKEN.fullmatch(text):
        return text
    return "".join(
        char if char in _KEPT else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in text
    )


def tag_page(request, *tags: str) -> None:
    """Record what this response shows; the middleware stores the page under these tags."""
    if not hasattr(request, "cache_tags"):
        request.cache_tags = set()
    request.cache_tags.update(cache_tag(tag) for tag in tags)


def expire_page_at(request, when) -> None:
    """Store this response only until `when` (an aware datetime or a Unix time): the page changes then.

    The earliest of several calls wins. The middleware caps the shared store's
    TTL, this process's copy and the response's max-age/s-maxage at that time,
    and stores nothing once it has passed.
    """
    at = when.timestamp() if hasattr(when, "timestamp") else float(when)
    current = getattr(request, "cache_expires", None)
    request.cache_expires = at if current is None else min(current, at)


def path_tag(path: str) -> str:
    """The tag every cached variant of one route carries: `path:` and a hash of the path, a short token always."""
    return "path:" + hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def page_query(*names: str, max_seconds: int | None = None):
    """Declare the query parameters a view reads; the page cache keys its pages by these alone.

    A view without it is keyed by its path only, and sees no query
    parameters. `max_seconds` caps how long its pages are kept (and what a CDN
    is told), for routes whose parameters are unbounded (search).
    """

    def declare(view):
        view.page_query = names
        view.page_max_seconds = max_seconds
        return view

    return declare
