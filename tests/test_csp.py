"""The CSP middleware: django-csp's header for the same settings, built once, and its exceptions."""

import pytest
from csp.middleware import CSPMiddleware as ReferenceCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from alphanode.ops.csp import CSPMiddleware

pytestmark = pytest.mark.same_on_every_backend


def page(request):
    return HttpResponse("page")


def missing(request):
    return HttpResponse("gone", status=404)


def test_a_page_gets_the_same_policy_as_django_csp_builds_from_the_settings():
    # django-csp (a test dependency) reads the same setting: the header must not depend on which one runs.
    ours = CSPMiddleware(page)(RequestFactory().get("/page/"))
    theirs = ReferenceCSPMiddleware(page)(RequestFactory().get("/page/"))
    policy = ours["Content-Security-Policy"]
    assert sorted(policy.split("; ")) == sorted(theirs["Content-Security-Policy"].split("; "))
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "Content-Security-Policy-Report-Only" not in ours


def test_the_policy_is_built_once_per_process(settings):
    middleware = CSPMiddleware(page)
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert middleware(RequestFactory().get("/page/"))["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_header_the_view_set_is_kept():
    def own_policy(request):
        response = HttpResponse("page")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    assert CSPMiddleware(own_policy)(RequestFactory().get("/page/"))["Content-Security-Policy"] == "default-src 'none'"


@override_settings(
    CONTENT_SECURITY_POLICY={
        "EXCLUDE_URL_PREFIXES": ["/embed/"],
        "DIRECTIVES": {"default-src": ["'self'"], "upgrade-insecure-requests": True, "frame-src": []},
    }
)
def test_excluded_prefixes_get_no_policy_and_directives_without_sources_are_written_bare():
    assert "Content-Security-Policy" not in CSPMiddleware(page)(RequestFactory().get("/embed/widget/"))
    header = CSPMiddleware(page)(RequestFactory().get("/page/"))["Content-Security-Policy"]
    assert header == "default-src 'self'; upgrade-insecure-requests"


def test_debug_error_pages_get_no_policy_only_with_debug_on(settings):
    assert "Content-Security-Policy" in CSPMiddleware(missing)(RequestFactory().get("/nope/"))
    settings.DEBUG = True
    assert "Content-Security-Policy" not in CSPMiddleware(missing)(RequestFactory().get("/nope/"))
