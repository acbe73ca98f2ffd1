"""What a page shows: the cache tags a view puts on the request, for the middleware to store."""


def tag_page(request, *tags: str) -> None:
    """Record what this response shows; the middleware stores the page under these tags."""
    if not hasattr(request, "cache_tags"):
        request.cache_tags = set()
    request.cache_tags.update(tags)


def path_tag(path: str) -> str:
    """The tag every cached variant of one route carries, so a route can be purged by hand."""
    return f"path:{path}"
