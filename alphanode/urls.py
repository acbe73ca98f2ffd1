"""URL configuration: the site, the admin, and the operations endpoints."""

from django.contrib import admin
from django.urls import path

from posts import health, metrics, monitoring

urlpatterns = [
    path("admin/", admin.site.urls),
    # Operations: load balancers and deploys probe /health; staff read /ops/; Prometheus scrapes /metrics.
    path("health", health.health_view, name="health"),
    path("ops/", monitoring.monitoring_view, name="ops-monitoring"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
