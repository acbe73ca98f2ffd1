"""/metrics: Prometheus text for the bearer of METRICS_TOKEN, 404 for everyone else."""

import pytest
from django.test import Client

from alphanode.pagecache.models import PurgeLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = "t0ken-for-tests"
    return settings.METRICS_TOKEN


def get_metrics(authorization: str | None = None):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return Client().get("/metrics", HTTP_HOST="localhost", **headers)


def test_without_a_token_metrics_are_not_found(token):
    assert get_metrics().status_code == 404


def test_a_wrong_token_is_not_found(token):
    assert get_metrics("Bearer wrong").status_code == 404
    assert get_metrics(token).status_code == 404  # the scheme is part of it


def test_with_no_token_configured_metrics_are_off(settings):
    settings.METRICS_TOKEN = ""
    assert get_metrics("Bearer ").status_code == 404


def test_the_token_bearer_gets_request_and_job_metrics(token):
    PurgeLog.objects.create(reason="test", succeeded=False, error="redis down")
    Client().get("/health", HTTP_HOST="localhost")
    response = get_metrics(f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert 'alphanode_requests_total{cache="BYPASS",method="GET",route="/health",status="200"}' in text
    assert 'alphanode_request_duration_seconds_bucket{le="0.1",route="/health"}' in text
    assert "alphanode_purges_failed_24h 1.0" in text
    assert 'alphanode_release_info{release="' in text
