"""Prometheus metrics at /metrics, for the monitoring system only.

Counting a request writes to memory (a memory-mapped file in gunicorn's
multiprocess mode), never to the network. Under gunicorn, gunicorn.conf.py
points PROMETHEUS_MULTIPROC_DIR at a directory every worker writes to, and a
scrape of any worker reads all of them. Database-backed numbers (failed purges,
imports, the release) are computed when scraped, not per request.
"""

import hmac
import os
from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alphanode.ops import releases

REQUESTS = Counter("alphanode_requests_total", "HTTP requests answered.", ["method", "route", "status", "cache"])
DURATION = Histogram(
    "alphanode_request_duration_seconds",
    "Time to answer, per URL pattern.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# The labelled children, looked up once: .labels() validates and builds keys on every call.
_children: dict[tuple[str, str, int, str], tuple] = {}


def observe_request(method: str, route: str, status: int, cache: str, duration_s: float) -> None:
    # Clients choose the method: keep made-up ones from creating new series (and dict entries).
    key = (method if method in KNOWN_METHODS else "other", route, status, cache)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(key[0], route, str(status), cache), DURATION.labels(route))
    children[0].inc()
    children[1].observe(duration_s)


class JobsCollector:
    """Numbers read from the database at scrape time: the release, imports, failed purges."""

    def describe(self):
        # Names only, so registering the collector runs no query.
        yield GaugeMetricFamily("alphanode_release_info", "", labels=["release"])
        yield GaugeMetricFamily("alphanode_purges_failed_24h", "")
        yield GaugeMetricFamily("alphanode_imports_24h", "", labels=["status"])

    def collect(self):
        from alphanode.ops.models import ImportRun
        from alphanode.pagecache.models import PurgeLog

        release = GaugeMetricFamily("alphanode_release_info", "The release this process serves.", labels=["release"])
        release.add_metric([releases.current_release()["id"]], 1)
        yield release
        since = timezone.now() - timedelta(hours=24)
        failed_purges = GaugeMetricFamily("alphanode_purges_failed_24h", "Page-cache purges that failed, last 24 h.")
        failed_purges.add_metric([], PurgeLog.objects.filter(succeeded=False, created_at__gte=since).count())
        yield failed_purges
        imports = GaugeMetricFamily("alphanode_imports_24h", "Import runs started in the last 24 h.", labels=["status"])
        counts = dict.fromkeys(ImportRun.Status.values, 0)
        for status in ImportRun.objects.filter(started_at__gte=since).values_list("status", flat=True).iterator():
            counts[status] += 1
        for status, count in counts.items():
            imports.add_metric([status], count)
        yield imports


if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    REGISTRY.register(JobsCollector())


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
def metrics_view(request):
    """The Prometheus text format; 404 unless the request carries `Authorization: Bearer <METRICS_TOKEN>`."""
    if not _authorized(request):
        # 404, not 403: the public need not learn that the endpoint exists.
        raise Http404("not found")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every worker's counts, read from the shared directory.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(JobsCollector())
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
