"""The middleware: serves anonymous reader pages from the page cache and stores the ones views tagged."""

import hashlib
import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.http import QueryDict
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from alphanode.pagecache import compression
from alphanode.pagecache.cache import CachedPage, cache_key, config, page_cache
from alphanode.pagecache.stores import StoreError
from alphanode.pagecache.tagging import path_tag

logger = logging.getLogger("alphanode.pagecache")

STORED_STATUSES = (200, 301, 404)
# Response headers a cached page keeps; everything else is rebuilt per response.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Location", "X-Robots-Tag", "Link", "Vary")


def _bypasses(request) -> bool:
    """Requests the cache never serves or stores: writes, editors (a session), excluded paths."""
    if not config("ENABLED") or request.method not in ("GET", "HEAD"):
        return True
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return True
    return request.path_info.startswith(tuple(config("EXCLUDED_PREFIXES")))


def _public_headers(response, page: CachedPage, *, age: int) -> None:
    response["Cache-Control"] = f"public, max-age={config('BROWSER_SECONDS')}, s-maxage={config('SECONDS')}"
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
        compression.serve(request, response, page)
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
            copies=compression.compress(response.content, response.get("Content-Type")),
        )
        ttl = config("SECONDS") if response.status_code == 200 else config("SHORT_SECONDS")
        try:
            page_cache().set(key, page, ttl=ttl, since=since)
        except StoreError as error:
            logger.warning("page cache unavailable, page not stored: %s", error)
        _public_headers(response, page, age=0)
        compression.serve(request, response, page)
        response["X-Cache"] = "MISS"
        return response


def _allowlisted(query: QueryDict) -> QueryDict:
    kept = QueryDict(mutable=True)
    for name in config("QUERY_PARAMS"):
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
