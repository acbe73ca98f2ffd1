"""PolicyOnceCSPMiddleware: the same headers as django-csp's middleware, built once."""

from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from alphanode.ops.csp import PolicyOnceCSPMiddleware


def page(request):
    return HttpResponse("page")


def both(view, path: str = "/page/"):
    """The response of `view` through django-csp's middleware and through ours."""
    ours = PolicyOnceCSPMiddleware(view)(RequestFactory().get(path))
    theirs = CSPMiddleware(view)(RequestFactory().get(path))
    return ours, theirs


def test_a_plain_response_gets_the_same_policy_as_django_csp():
    ours, theirs = both(page)
    assert ours["Content-Security-Policy"] == theirs["Content-Security-Policy"]
    assert "script-src 'self'" in ours["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" not in ours


def test_a_per_view_policy_is_still_honoured():
    ours, theirs = both(csp_update({"img-src": ["media.example.org"]})(page))
    assert "media.example.org" in ours["Content-Security-Policy"]
    assert ours["Content-Security-Policy"] == theirs["Content-Security-Policy"]


def test_an_exempt_view_gets_no_policy():
    ours, _ = both(csp_exempt()(page))
    assert "Content-Security-Policy" not in ours


def test_a_header_the_view_set_is_kept():
    def own_policy(request):
        response = HttpResponse("page")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    ours, _ = both(own_policy)
    assert ours["Content-Security-Policy"] == "default-src 'none'"


@override_settings(
    CONTENT_SECURITY_POLICY={"EXCLUDE_URL_PREFIXES": ["/embed/"], "DIRECTIVES": {"default-src": ["'self'"]}}
)
def test_excluded_prefixes_get_no_policy():
    ours, theirs = both(page, "/embed/widget/")
    assert "Content-Security-Policy" not in ours
    assert "Content-Security-Policy" not in theirs
    assert PolicyOnceCSPMiddleware(page)(RequestFactory().get("/page/"))["Content-Security-Policy"] == (
        "default-src 'self'"
    )
