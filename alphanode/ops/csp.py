"""django-csp's middleware, with the policy string built once per process instead of per response.

django-csp 4.0 rebuilds the header from the settings on every response (about
50 µs here: a dataclass copy and the string building), a large share of a page
served from the page cache. Every response without a nonce or a per-view
policy (the `csp.decorators`) gets the same header, so it is built once;
the others go through django-csp unchanged.
"""

from dataclasses import asdict
from functools import cached_property

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings

# Attributes the csp.decorators put on a response to change its policy.
_PER_VIEW = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
_DEBUG_EXEMPT = (404, 500)  # django-csp leaves Django's debug pages alone


class PolicyOnceCSPMiddleware(CSPMiddleware):
    @cached_property
    def _headers(self) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """(header, policy, exemption attribute, excluded path prefixes) for each policy that is set."""
        headers = []
        for header, report_only, setting, exempt in (
            (HEADER, False, "CONTENT_SECURITY_POLICY", "_csp_exempt"),
            (HEADER_REPORT_ONLY, True, "CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro"),
        ):
            policy = build_policy(**asdict(PolicyParts()), report_only=report_only)
            if policy:
                prefixes = tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())
                headers.append((header, policy, exempt, prefixes))
        return headers

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, name) for name in _PER_VIEW):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in _DEBUG_EXEMPT:
            return response
        for header, policy, exempt, prefixes in self._headers:
            excluded = prefixes and request.path_info.startswith(prefixes)
            if header not in response and not getattr(response, exempt, False) and not excluded:
                response[header] = policy
        # As django-csp does: a template asking for a nonce after the header went out is a bug.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
