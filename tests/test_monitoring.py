"""/ops/: staff only; up, slow, failing jobs and the last deployment at a glance."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alphanode.ops import timings
from alphanode.ops.models import Deployment, ImportRun, RequestTiming
from alphanode.pagecache.models import PurgeLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_the_login():
    response = Client(HTTP_HOST="localhost").get("/ops/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_users_who_are_not_staff_are_sent_to_the_login():
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.create_user("reader", password="pw"))
    assert client.get("/ops/").status_code == 302


def test_a_bad_window_is_refused_with_the_choices(staff_client):
    response = staff_client.get("/ops/?minutes=7")
    assert response.status_code == 400
    assert b"minutes must be one of 15, 60, 360, 1440; got '7'" in response.content


def test_the_page_answers_the_four_questions(staff_client, django_assert_max_num_queries):
    # Servers other tests started (gunicorn) flush their own timings into the test database.
    RequestTiming.objects.all().delete()
    now = timezone.now()
    recorder = timings.TimingRecorder()
    for _ in range(97):
        recorder.record("/posts/<slug:slug>/", 200, 4.0)
    for status in (200, 200, 500):
        recorder.record("/posts/<slug:slug>/", status, 900.0)
    recorder.flush()
    ImportRun.objects.create(sources="a.jsonl", status=ImportRun.Status.FAILED, error="disk full", rejected=3)
    PurgeLog.objects.create(reason="post 7 changed", tags="post:7", succeeded=False, error="redis timeout")
    Deployment.objects.create(
        release="r1", action="deploy", outcome="live", started_at=now - timedelta(hours=2),
        finished_at=now - timedelta(hours=2), host="web1",
    )  # fmt: skip
    Deployment.objects.create(
        release="r2", previous_release="r1", action="deploy", outcome="live", started_at=now - timedelta(minutes=3),
        finished_at=now - timedelta(minutes=2), host="web1", changes="abc123 Faster home page",
        migrations="posts.0007_x",
    )  # fmt: skip
    with django_assert_max_num_queries(20):
        response = staff_client.get("/ops/")
    assert response.status_code == 200
    text = response.content.decode()
    # Is it up?
    assert 'Is it up?\n    <span class="ops-good">yes</span>' in text
    # Is it slow? p50 and p99 of the route, merged from the flushed histogram.
    context = response.context
    stats = dict(context["routes"])["/posts/<slug:slug>/"]
    assert stats.count == 100
    assert stats.errors == 1
    assert stats.p50 <= 5
    assert 700 <= stats.p99 <= 900
    assert "<code>/posts/&lt;slug:slug&gt;/</code>" in text
    # Are jobs failing?
    assert context["imports_failed_24h"] == 1
    assert context["failed_purges_24h"] == 1
    assert "disk full" in text
    assert "redis timeout" in text
    # Did the last deployment change anything?
    assert context["effect"].deployment.release == "r2"
    after = {route: stats for route, _, stats in context["effect"].routes}
    assert after["/posts/<slug:slug>/"].count == 100
    assert context["previous_live"].release == "r1"
    assert "abc123 Faster home page" in text
    assert "posts.0007_x" in text
