"""What the request log and the CSP header cost per request, against a bare response.

Run: .venv/bin/python bench/request_overhead.py > /dev/null   (the JSON log lines go to stdout;
the results go to stderr). Prints microseconds per request and the ratio to the baseline.
django-csp (a development dependency) is measured for comparison.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")

import django

django.setup()

from csp.middleware import CSPMiddleware as DjangoCSPMiddleware  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from alphanode.ops.csp import CSPMiddleware  # noqa: E402
from alphanode.ops.requestlog import RequestLogMiddleware  # noqa: E402

N = 20_000
PAGE = b"x" * 21_000  # a cached page's size (docs: performance-notes.md)


def cached_page(request):
    response = HttpResponse(PAGE)
    response["X-Cache"] = "HIT"
    return response


def per_request_us(handler, requests) -> float:
    started = time.perf_counter()
    for request in requests:
        handler(request)
    return (time.perf_counter() - started) / len(requests) * 1e6


def main() -> None:
    factory = RequestFactory()
    # Paths a page cache serves without URL resolution: the route comes from the LRU cache.
    requests = [factory.get("/admin/login/") for _ in range(N)]
    variants = {
        "bare response": cached_page,
        "+ request log (JSON line, timings, prometheus)": RequestLogMiddleware(cached_page),
        "+ CSP header, django-csp's middleware": DjangoCSPMiddleware(cached_page),
        "+ CSP header, alphanode.ops.csp": CSPMiddleware(cached_page),
        "+ request log and alphanode.ops.csp": RequestLogMiddleware(CSPMiddleware(cached_page)),
    }
    for handler in variants.values():  # warm up
        per_request_us(handler, requests[:1000])
    baseline = per_request_us(cached_page, requests)
    for name, handler in variants.items():
        us = per_request_us(handler, requests)
        print(f"{name:50s} {us:7.1f} µs/request  (+{us - baseline:.1f} µs)", file=sys.stderr)


if __name__ == "__main__":
    main()
