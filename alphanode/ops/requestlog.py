"""One structured log line per request, plus the counts behind /ops/ and /metrics.

The middleware is first in MIDDLEWARE, so its duration covers everything
below it, static files and page-cache hits included. It does no I/O of its own
besides the log line: timings are counted in memory (alphanode/ops/timings.py) and
Prometheus counters in memory-mapped files (alphanode/ops/metrics.py).
"""

import functools
import logging
import time

from django.conf import settings
from django.urls import Resolver404, resolve

from alphanode.ops import metrics, timings

logger = logging.getLogger("alphanode.request")

UNMATCHED_ROUTE = "<unmatched>"


@functools.lru_cache(maxsize=4096)
def route_for_path(path: str) -> str:
    """The URL pattern that serves `path`, for responses returned before URL resolution (cache hits, static files)."""
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "/" + settings.STATIC_URL.lstrip("/")
    try:
        return "/" + resolve(path).route
    except Resolver404:
        # Not a route: one label for all of them, or every probe for /wp-login.php would be its own series.
        return UNMATCHED_ROUTE


def request_route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return "/" + match.route
    return route_for_path(request.path_info)


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration = time.perf_counter() - started
        route = request_route(request)
        status = response.status_code
        cache_status = response.get("X-Cache", "-")
        duration_ms = round(duration * 1000, 2)
        if logger.isEnabledFor(logging.INFO):
            # makeRecord + handle: logger.info() would also walk the stack to find the caller,
            # which no JSON line shows; this runs on every request.
            record = logger.makeRecord(
                logger.name,
                logging.INFO,
                __file__,
                0,
                "%s %s %s %sms %s",
                (request.method, request.path, status, duration_ms, cache_status),
                None,
                extra={
                    "event": "request",
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "cache": cache_status,
                },
            )
            logger.handle(record)
        timings.recorder.record(route, status, duration_ms)
        metrics.observe_request(request.method, route, status, cache_status, duration)
        return response
