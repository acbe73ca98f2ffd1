"""RequestLogMiddleware: one JSON line per request with the route pattern, status, duration, cache status."""

import json

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from alphanode.ops import requestlog, timings


def test_route_is_the_url_pattern_not_the_path():
    assert requestlog.route_for_path("/admin/auth/user/123/change/") == "/admin/auth/user/<path:object_id>/change/"
    assert requestlog.route_for_path("/health") == "/health"


def test_paths_that_match_no_route_share_one_label():
    assert requestlog.route_for_path("/wp-login.php") == requestlog.UNMATCHED_ROUTE
    assert requestlog.route_for_path("/no/such/page/") == requestlog.UNMATCHED_ROUTE


def test_static_files_share_one_label():
    assert requestlog.route_for_path("/static/admin/css/base.abc123.css") == "/static/"


@pytest.mark.django_db
def test_each_request_writes_one_json_line(capture):
    handler = capture("alphanode.request")
    response = Client().get("/health", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert len(handler.lines) == 1
    entry = json.loads(handler.lines[0])
    assert entry["event"] == "request"
    assert entry["method"] == "GET"
    assert entry["route"] == "/health"
    assert entry["status"] == 200
    assert entry["cache"] == "BYPASS"  # the page cache never serves /health
    assert 0 < entry["duration_ms"] < 10_000


def test_a_response_answered_before_url_resolution_gets_its_route_and_cache_status(capture):
    """A page-cache hit returns before Django resolves the URL; the route and X-Cache are still logged."""
    handler = capture("alphanode.request")

    def cached_page(request):
        response = HttpResponse("cached")
        response["X-Cache"] = "HIT"
        return response

    request = RequestFactory().get("/admin/auth/user/7/change/")
    requestlog.RequestLogMiddleware(cached_page)(request)
    entry = json.loads(handler.lines[-1])
    assert entry["route"] == "/admin/auth/user/<path:object_id>/change/"
    assert entry["cache"] == "HIT"


def test_requests_are_counted_in_memory_for_the_monitoring_page():
    recorder = timings.recorder
    key_count = lambda: sum(  # noqa: E731
        stats.count for (minute, route), stats in recorder._minutes.items() if route == "/no-such-route-counted"
    )
    before = key_count()
    request = RequestFactory().get("/x")
    request.resolver_match = type("Match", (), {"route": "no-such-route-counted"})()
    requestlog.RequestLogMiddleware(lambda request: HttpResponse(status=503))(request)
    assert key_count() == before + 1
