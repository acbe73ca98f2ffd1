"""The Content-Security-Policy header, built once per process from settings.CONTENT_SECURITY_POLICY.

The site uses one policy for every page (no nonces, no per-view policies), so
the header is a constant string: building it per response, as a general CSP
middleware does, costs about 50 µs, a large share of a page served from the
page cache. The setting has django-csp's shape ({"DIRECTIVES": {name: [sources]},
"EXCLUDE_URL_PREFIXES": [...]}) so the policy reads as it always did.

A response that already carries the header (a view that needs another policy)
keeps it. Django's debug pages (404/500 with DEBUG on) get none: they use inline
styles and scripts.
"""

from django.conf import settings

HEADER = "Content-Security-Policy"
_DEBUG_PAGES = (404, 500)


def policy_header(policy: dict) -> str:
    """The header value of a policy: `directive source source; directive; ...` in the setting's order."""
    parts = []
    for directive, sources in policy.get("DIRECTIVES", {}).items():
        if sources is True:
            parts.append(directive)  # a directive without sources: upgrade-insecure-requests
        elif sources:
            parts.append(" ".join([directive, *sources]))
    return "; ".join(parts)


class CSPMiddleware:
    """Sets the Content-Security-Policy header on every response that has none."""

    def __init__(self, get_response):
        self.get_response = get_response
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        self.header = policy_header(policy)
        self.excluded = tuple(policy.get("EXCLUDE_URL_PREFIXES", ()))

    def __call__(self, request):
        response = self.get_response(request)
        if not self.header or HEADER in response:
            return response
        if settings.DEBUG and response.status_code in _DEBUG_PAGES:
            return response
        if self.excluded and request.path_info.startswith(self.excluded):
            return response
        response[HEADER] = self.header
        return response


def framed_by_own_pages_header() -> str:
    """The site's policy, except that the site's own pages may frame the response (the admin's article previews)."""
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    directives = {**policy.get("DIRECTIVES", {}), "frame-ancestors": ["'self'"]}
    return policy_header({"DIRECTIVES": directives})
