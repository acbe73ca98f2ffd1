"""What a page shows: the cache tags a view puts on the request, for the middleware to store."""


def tag_page(request, *tags: str) -> None:
    """Record what this response shows; the middleware stores the page under these tags."""
    if not hasattr(request, "cache_tags"):
        request.cache_tags = set()
    request.cache_tags.update(tags)


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
    """The tag every cached variant of one route carries, so a route can be purged by hand."""
    return f"path:{path}"
