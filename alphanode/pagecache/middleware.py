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
from alphanode.pagecache.cache import CachedPage, Route, cache_key, config, page_cache, route_of
from alphanode.pagecache.stores import StoreError
from alphanode.pagecache.tagging import path_tag

logger = logging.getLogger("alphanode.pagecache")

# Public (a CDN may keep them) when a view tagged them; only 200 and 301 go into the store:
# a 404 for any made-up path would let a client fill it.
PUBLIC_STATUSES = (200, 301, 404)
STORED_STATUSES = (200, 301)
# Response headers a cached page keeps; everything else is rebuilt per response.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Location", "X-Robots-Tag", "Link", "Vary")


def _bypasses(request) -> bool:
    """Requests the cache never serves or stores: writes, editors (a session), excluded paths."""
    if not config("ENABLED") or request.method not in ("GET", "HEAD"):
        return True
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return True
    return request.path_info.startswith(tuple(config("EXCLUDED_PREFIXES")))


def _from_edge(request) -> bool:
    """An edge's fetch (the VCL marks it): check the purge generation now, as the edge keeps what it gets.

    Anyone may send the header; it only costs one store round trip.
    """
    return request.META.get("HTTP_X_ALPHANODE_EDGE") == "1"


def _public_headers(response, page: CachedPage, *, age: int) -> None:
    response["Cache-Control"] = (
        f"public, max-age={min(config('BROWSER_SECONDS'), page.seconds)}, s-maxage={page.seconds}"
    )
    response["Age"] = str(max(age, 0))
    response["ETag"] = page.etag
    response["Last-Modified"] = http_date(page.created)
    # The same tags for every edge: Varnish's xkey and Fastly read Surrogate-Key, Cloudflare Cache-Tag.
    response["Surrogate-Key"] = " ".join(page.tags)
    response["Cache-Tag"] = ",".join(page.tags)


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
        route = route_of(request.path_info)
        key = cache_key(request.path_info, request.GET, route.query)
        cache = page_cache()
        try:
            page = cache.get(key, fresh=_from_edge(request))
            if page is not None and page.expires > time.time():
                return self._hit(request, page)
            since = cache.generation(fresh=True)
        except StoreError as error:
            logger.warning("page cache unavailable, serving live: %s", error)
            return self._live(request, key, route, since=None, stale=None)
        # An expired page is kept a while (STALE_SECONDS) in case this render fails.
        return self._live(request, key, route, since=since, stale=page)

    def _hit(self, request, page: CachedPage):
        age = int(time.time() - page.created)
        response = get_conditional_response(request, etag=page.etag, last_modified=int(page.created))
        if response is None:
            response = page.response()
        _public_headers(response, page, age=age)
        compression.serve(request, response, page)
        response["X-Cache"] = "HIT"
        return response

    def _live(self, request, key: str, route: Route, *, since: int | None, stale: CachedPage | None):
        # The view sees only what the key says: no other parameters, the canonical host.
        request.GET = _allowlisted(request.GET, route.query)
        _use_canonical_host(request)
        response = self.get_response(request)
        if response.status_code >= 500 and stale is not None and not stale.final:
            return _stale(stale)
        tags = getattr(request, "cache_tags", None)
        now = time.time()
        cap = getattr(request, "cache_expires", None)  # tagging.expire_page_at: the page changes then
        if not tags or not _storable(request, response) or (cap is not None and cap <= now):
            response["X-Cache"] = "MISS" if tags else "BYPASS"
            return response
        expires = now + _lifetime(response.status_code, route)
        final = cap is not None and cap < expires
        expires = min(expires, cap) if final else expires
        page = CachedPage(
            status=response.status_code,
            headers=[(name, response[name]) for name in KEPT_HEADERS if name in response],
            body=response.content,
            created=now,
            etag=f'"{hashlib.sha256(response.content).hexdigest()[:32]}"',
            tags=sorted({*tags, path_tag(request.path_info)}),
            expires=expires,
            final=final,
            copies=compression.compress(response.content, response.get("Content-Type")),
        )
        # Headers first: a page goes into the store only once its response is whole.
        _public_headers(response, page, age=0)
        compression.serve(request, response, page)
        response["X-Cache"] = "MISS"
        if since is not None and response.status_code in STORED_STATUSES:
            try:
                page_cache().set(key, page, ttl=page.seconds, since=since)
            except StoreError as error:
                logger.warning("page cache unavailable, page not stored: %s", error)
        return response


def _lifetime(status: int, route: Route) -> int:
    """How long a page stays fresh in the store and at a CDN: a day for pages, minutes for the rest."""
    seconds = config("SECONDS") if status == 200 else config("SHORT_SECONDS")
    return min(seconds, route.max_seconds) if route.max_seconds else seconds


def _stale(page: CachedPage):
    """The last stored copy of a page whose render failed (stale-if-error): never kept by anyone downstream."""
    response = page.response()
    response["Cache-Control"] = "public, max-age=0, s-maxage=0"
    response["Age"] = str(max(int(time.time() - page.created), 0))
    response["X-Cache"] = "STALE"
    return response


def _allowlisted(query: QueryDict, names: tuple[str, ...]) -> QueryDict:
    kept = QueryDict(mutable=True)
    for name in names:
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
        and response.status_code in PUBLIC_STATUSES
        and not response.cookies
        and not getattr(response, "streaming", False)
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
        and not getattr(request, "csrf_cookie_needs_update", False)
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )
