"""Compressed pages: gzip and Brotli, made once when a page is stored and served as stored bytes.

A cached page keeps its body plus one compressed copy per encoding
(`compress`). A hit picks the copy the client accepts (`choose`, Brotli
first) and sends those bytes with `Content-Encoding`, `Content-Length` and
`Vary: Accept-Encoding` (`serve`): nothing is compressed per request. A 304
carries the same `Vary` as the 200. Pages the cache does not serve (editors,
uncached routes, `PAGECACHE_ENABLED=0`) are compressed per response by
`CompressionMiddleware`, above the page cache, with a cheaper Brotli setting.

The ETag of a compressed copy is weak (`W/"..."`), as Django's GZipMiddleware
makes it: the bytes differ from the identity body's, the content does not.
"""

import gzip

import brotli
from django.utils.cache import patch_vary_headers

# Smaller bodies gain nothing from compression (Django's GZipMiddleware uses the same floor).
MIN_SIZE = 200
COMPRESSIBLE_TYPES = (
    "text/",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/json",
    "application/javascript",
)
# Stored pages are compressed once: the best Brotli setting pays off. Bodies past a
# megabyte (a large sitemap page) use a fast one so that a miss stays quick.
STORED_BROTLI_QUALITY = 11
FAST_BROTLI_QUALITY = 4
BEST_QUALITY_LIMIT = 1_000_000
PREFERENCE = ("br", "gzip")


def compressible(content_type: str | None, body: bytes) -> bool:
    return len(body) >= MIN_SIZE and (content_type or "").startswith(COMPRESSIBLE_TYPES)


def compress(body: bytes, content_type: str | None, *, stored: bool = True) -> dict[str, bytes]:
    """The compressed copies of `body` worth keeping, by encoding ({} when none is smaller)."""
    if not compressible(content_type, body):
        return {}
    quality = STORED_BROTLI_QUALITY if stored and len(body) <= BEST_QUALITY_LIMIT else FAST_BROTLI_QUALITY
    copies = {
        "br": brotli.compress(body, quality=quality, mode=brotli.MODE_TEXT),
        "gzip": gzip.compress(body, compresslevel=6, mtime=0),
    }
    return {encoding: data for encoding, data in copies.items() if len(data) < len(body)}


def accepted(accept_encoding: str) -> set[str]:
    """The codings an Accept-Encoding header accepts (q=0 refuses one; `*` accepts any)."""
    codings = set()
    refused = set()
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        (codings if quality > 0 else refused).add(name)
    if "*" in codings:
        codings.update(coding for coding in PREFERENCE if coding not in refused)
    return codings


def choose(accept_encoding: str, available) -> str | None:
    """The encoding to send: the first of PREFERENCE that the client accepts and a copy exists for."""
    if not available or not accept_encoding:
        return None
    codings = accepted(accept_encoding)
    return next((coding for coding in PREFERENCE if coding in codings and coding in available), None)


def serve(request, response, page) -> None:
    """Make `response` carry the stored copy of `page` the client accepts, with its length and Vary.

    `page` is a cache.CachedPage. A 304 gets the Vary its 200 would carry.
    """
    response.page_cache_compressed = True  # CompressionMiddleware leaves it alone
    if response.status_code == 304:
        stored_vary = [value for name, value in page.headers if name.lower() == "vary"]
        if stored_vary:
            response["Vary"] = stored_vary[0]
        if page.copies:
            patch_vary_headers(response, ("Accept-Encoding",))
        return
    if page.copies:
        patch_vary_headers(response, ("Accept-Encoding",))
    encoding = choose(request.META.get("HTTP_ACCEPT_ENCODING", ""), page.copies)
    if encoding is None:
        response.content = page.body
    else:
        response.content = page.copies[encoding]
        response["Content-Encoding"] = encoding
        _weaken_etag(response)
    response["Content-Length"] = str(len(response.content))


def _weaken_etag(response) -> None:
    etag = response.get("ETag")
    if etag and not etag.startswith("W/"):
        response["ETag"] = f"W/{etag}"


class CompressionMiddleware:
    """Compresses, per response, what the page cache did not (bypassed and uncached pages)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(response, "streaming", False)
            or getattr(response, "page_cache_compressed", False)
            or response.has_header("Content-Encoding")
            or not compressible(response.get("Content-Type"), response.content)
        ):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        encoding = choose(request.META.get("HTTP_ACCEPT_ENCODING", ""), PREFERENCE)
        if encoding is None:
            return response
        copy = compress(response.content, response.get("Content-Type"), stored=False).get(encoding)
        if copy is not None:
            response.content = copy
            response["Content-Encoding"] = encoding
            response["Content-Length"] = str(len(copy))
            _weaken_etag(response)
        return response
