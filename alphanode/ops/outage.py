"""While the database is down: 503 with Retry-After instead of a 500.

A view that cannot reach the database raises OperationalError (connection
refused, server gone) or InterfaceError (connection closed). That is not a bug
in the page but a service that is away for a while, so the answer says
"try again later" (503, Retry-After) and is never cached. The page cache,
which sits above this middleware, answers a 5xx with the last stored copy of
the page when it has one (stale-if-error, X-Cache: STALE).
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger("alphanode.ops")

# Seconds a client (or a CDN) is asked to wait: a restart or failover takes about this long.
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    """Turns a view's "database unreachable" errors into 503 Service Unavailable with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable, answering 503: %s", exception)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
