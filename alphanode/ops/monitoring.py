"""/ops/: the monitoring page for staff.

It answers four questions at a glance: is it up (the /health checks, the
release), is it slow (p50/p99 per route over a recent window, merged across
every worker and app server), are jobs failing (recent imports, failed purges),
and did the last deployment change anything (what it shipped, and latency and
errors before and after it).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from alphanode.ops import health, importruns, releases, timings
from alphanode.ops.models import Deployment, ImportRun
from alphanode.pagecache.models import PurgeLog

WINDOW_CHOICES = (15, 60, 360, 1440)
DEFAULT_WINDOW = 60
# How far before and after a deployment its effect is compared.
DEPLOY_COMPARE = timedelta(minutes=30)


@dataclass
class DeployEffect:
    deployment: Deployment
    before: timings.RouteStats
    after: timings.RouteStats
    routes: list[tuple[str, timings.RouteStats | None, timings.RouteStats]]


def deploy_effect(deployment: Deployment, now: datetime) -> DeployEffect:
    """Requests in the half hour before `deployment` against the half hour after it (so far)."""
    went_live = deployment.finished_at
    before = timings.route_stats(went_live - DEPLOY_COMPARE, went_live)
    after = timings.route_stats(went_live, min(now, went_live + DEPLOY_COMPARE) + timedelta(minutes=1))
    routes = [
        (route, before.get(route), stats) for route, stats in sorted(after.items(), key=lambda item: -item[1].count)
    ]
    return DeployEffect(deployment, timings.overall(before), timings.overall(after), routes)


def monitoring_context(window_minutes: int) -> dict:
    now = timezone.now()
    since_day = now - timedelta(hours=24)
    routes = timings.route_stats(now - timedelta(minutes=window_minutes))
    deployments = list(Deployment.objects.all()[:5])
    last_live = next((d for d in deployments if d.outcome == Deployment.Outcome.LIVE), None)
    checks = health.run_checks()
    return {
        "title": "Operations",
        "now": now,
        "release": releases.current_release(),
        "checks": checks,
        "healthy": all(check.ok for check in checks),
        "window_minutes": window_minutes,
        "window_choices": WINDOW_CHOICES,
        "routes": sorted(routes.items(), key=lambda item: -item[1].count),
        "total": timings.overall(routes),
        "imports": list(ImportRun.objects.all()[:10]),
        "imports_failed_24h": ImportRun.objects.filter(
            status=ImportRun.Status.FAILED, started_at__gte=since_day
        ).count(),
        "failed_purges": list(PurgeLog.objects.filter(succeeded=False)[:10]),
        "failed_purges_24h": PurgeLog.objects.filter(succeeded=False, created_at__gte=since_day).count(),
        "deployments": deployments,
        "effect": deploy_effect(last_live, now) if last_live else None,
        "previous_live": next(
            (d for d in deployments if d.outcome == Deployment.Outcome.LIVE and d != last_live), None
        ),
    }


@never_cache
@staff_member_required
def monitoring_view(request):
    raw = request.GET.get("minutes", str(DEFAULT_WINDOW))
    if not raw.isdigit() or int(raw) not in WINDOW_CHOICES:
        choices = ", ".join(str(choice) for choice in WINDOW_CHOICES)
        return HttpResponseBadRequest(f"minutes must be one of {choices}; got {raw!r}", content_type="text/plain")
    importruns.mark_dead_runs()  # a killed import is shown failed, not "running"
    # The admin's own context too: the page sits in the admin's frame (user links, app list).
    context = {**admin.site.each_context(request), **monitoring_context(int(raw))}
    return render(request, "ops/monitoring.html", context)
