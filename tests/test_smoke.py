"""The deploy's smoke test, against a real server: /health reports the release, a page answers."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import NoReverseMatch

from alphanode.ops import releases, smoke
from tests.factories import make_post

pytestmark = pytest.mark.django_db(transaction=True)


def test_passes_when_health_reports_the_release(live_server):
    report = smoke.smoke_test(live_server.url, releases.current_release()["id"], path="/admin/login/", timeout=10)
    assert report.checked[0] == f"/health: 200, release {releases.current_release()['id']}"
    assert report.checked[1].startswith("/admin/login/: 200, ")


def test_fails_naming_the_release_it_waited_for(live_server):
    with pytest.raises(smoke.SmokeTestFailed, match=r"/health did not report release 'other-release' .* in 1 s"):
        smoke.smoke_test(live_server.url, "other-release", timeout=1)


def test_fails_when_the_page_does_not_answer_200(live_server):
    with pytest.raises(smoke.SmokeTestFailed, match=r"GET /no-such-page/ answered 404"):
        smoke.smoke_test(live_server.url, releases.current_release()["id"], path="/no-such-page/", timeout=10)


def test_without_published_posts_only_health_is_checked_and_it_says_so(live_server):
    report = smoke.smoke_test(live_server.url, releases.current_release()["id"], timeout=10)
    assert report.notes == ["no article checked: posts.smoke.newest_article_path found no page to fetch"]
    assert len(report.checked) == 1


def test_the_article_is_the_newest_published_post():
    make_post(1)
    newest = make_post(2)
    try:
        expected = newest.get_absolute_url()
    except NoReverseMatch:  # a release without the reader site has no article route
        expected = None
    assert smoke.article_path() == expected


def test_it_asks_for_the_site_by_its_name(settings):
    settings.ALLOWED_HOSTS = [".example.org", "www.example.org", "127.0.0.1"]
    assert smoke.site_host() == "www.example.org"
    settings.ALLOWED_HOSTS = ["*"]
    assert smoke.site_host() == ""  # then the Host is the one in --base-url


def test_the_command_exits_1_with_the_reason(live_server):
    with pytest.raises(CommandError, match="smoke test failed: /health did not report release 'nope'") as error:
        call_command("smoke_test", "--base-url", live_server.url, "--expect-release", "nope", "--timeout", "1")
    assert error.value.returncode == 1


def test_record_deployment_stores_the_run(tmp_path):
    changes = tmp_path / "changes"
    changes.write_text("abc123 Faster home page\n")
    call_command(
        "record_deployment", "--action", "deploy", "--outcome", "live", "--release", "r2", "--previous", "r1",
        "--started-at", "2026-01-31T12:00:00Z", "--changes-file", str(changes),
    )  # fmt: skip
    from alphanode.ops.models import Deployment

    deployment = Deployment.objects.get()
    assert (deployment.release, deployment.previous_release, deployment.outcome) == ("r2", "r1", "live")
    assert deployment.changes == "abc123 Faster home page"
    assert deployment.host


def test_record_deployment_refuses_a_bad_time():
    with pytest.raises(CommandError, match="--started-at must be an ISO 8601 time"):
        call_command(
            "record_deployment", "--action", "deploy", "--outcome", "live", "--release", "r", "--started-at", "noon"
        )
