"""Scheduled publishing in one process: visibility to the second, the write path, the request path, the admin."""

import datetime
import json
import time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from alphanode.pagecache.cache import CachedPage, page_cache
from posts import cache_tags, scheduling, services
from posts.models import Post, Revision
from tests.factories import changeform_data, make_draft, make_post, make_user
from tests.test_admin import change_url, client_for, form_errors

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def live_clock(monkeypatch):
    """The request path's clock as in production: it re-reads the next event every 0.25 s."""
    monkeypatch.setattr(scheduling.clock, "seconds", 0.25)
    scheduling.clock.forget()
    return scheduling.clock


def in_seconds(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


def wait_until(moment: datetime.datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.02)


# -- what readers see ------------------------------------------------------------


def test_readers_see_a_post_only_inside_its_schedule():
    post = make_post(1)
    publish_at, unpublish_at = in_seconds(60), in_seconds(120)
    services.post_set_schedule(post.pk, publish_at=publish_at, unpublish_at=unpublish_at)
    post.refresh_from_db()
    assert (post.state, post.published_at) == (Post.State.PUBLISHED, publish_at)

    def visible(at):
        return Post.objects.published(at=at).filter(pk=post.pk).exists()

    second = datetime.timedelta(seconds=1)
    assert not visible(publish_at - second / 1000)
    assert visible(publish_at)
    assert visible(unpublish_at - second / 1000)
    assert not visible(unpublish_at)
    assert not post.is_published  # now: before publish_at


def test_similar_posts_and_search_leave_out_a_post_before_its_time(client):
    shown, hidden = make_post(1), make_post(2)
    other = make_post(3)
    services.post_set_schedule(hidden.pk, publish_at=in_seconds(60), unpublish_at=None)
    similar = {post.pk for post in Post.objects.similar_to(Post.objects.with_record_parts().get(pk=other.pk))}
    assert shown.pk in similar and hidden.pk not in similar
    page = client.get(reverse("posts:search"), {"q": "safer"}).content.decode()
    assert shown.title in page and hidden.title not in page


# -- the write path -----------------------------------------------------------------


def test_setting_a_schedule_purges_every_page_that_shows_the_post_now_or_will(purged):
    post = make_post(1, stack=["python"], tools=["pytest"])
    with purged.capture():
        assert services.post_set_schedule(post.pk, publish_at=in_seconds(60), unpublish_at=None)
    tags = cache_tags.tags_for_change(purged.for_post(post.pk)[0])
    assert {"list:home", "list:feed", "list:sitemap", "list:stack:python", "list:tools:pytest"} <= tags
    unchanged = Post.objects.get(pk=post.pk).publish_at
    assert not services.post_set_schedule(post.pk, publish_at=unchanged, unpublish_at=None)


def test_clearing_a_publication_still_to_come_cancels_it():
    post = make_post(1)
    services.post_set_schedule(post.pk, publish_at=in_seconds(60), unpublish_at=None)
    services.post_set_schedule(post.pk, publish_at=None, unpublish_at=None)
    post.refresh_from_db()
    assert (post.state, post.publish_at) == (Post.State.DRAFT, None)


def test_cached_hits_cost_no_query_for_the_schedule(client, live_clock, django_assert_max_num_queries):
    make_post(1)
    services.post_set_schedule(make_post(2).pk, publish_at=None, unpublish_at=in_seconds(60))
    client.get("/")
    with django_assert_max_num_queries(1):  # at most one re-read of the next event per 0.25 s
        for _ in range(20):
            assert client.get("/")["X-Cache"] == "HIT"


def test_a_schedule_is_refused_when_naive_or_out_of_order():
    post = make_post(1)
    with pytest.raises(ValueError, match="time zone"):
        services.post_set_schedule(post.pk, publish_at=datetime.datetime(2030, 1, 1, 9), unpublish_at=None)
    with pytest.raises(ValueError, match="after publish_at"):
        services.post_set_schedule(post.pk, publish_at=in_seconds(60), unpublish_at=in_seconds(30))


def test_due_events_are_applied_once_with_a_revision_and_a_purge(purged):
    post = make_draft(1)
    publish_at = in_seconds(1)  # room for a slow machine before "not due yet"
    services.post_set_schedule(post.pk, publish_at=publish_at, unpublish_at=in_seconds(60))
    assert services.posts_apply_schedule() == []  # not due yet
    wait_until(publish_at)
    with purged.capture():
        changes = services.posts_apply_schedule()
    assert [change.post_id for change in changes] == [post.pk]
    assert "list:home" in cache_tags.tags_for_change(changes[0])
    assert services.posts_apply_schedule() == []  # already applied
    post.refresh_from_db()
    assert (post.publish_at, post.state, post.published_at) == (None, Post.State.PUBLISHED, publish_at)
    revision = post.revisions.get(reason=Revision.Reason.SCHEDULE)
    assert revision.applied and revision.note == f"published at {publish_at.isoformat()} as scheduled"
    assert revision.record_hash == post.record_hash  # the content did not change


def test_a_due_unpublication_makes_the_post_a_draft():
    post = make_post(1)
    unpublish_at = in_seconds(0.2)
    services.post_set_schedule(post.pk, publish_at=None, unpublish_at=unpublish_at)
    wait_until(unpublish_at)
    changes = services.posts_apply_schedule()
    assert changes[0].before.published and not changes[0].after.published
    post.refresh_from_db()
    assert (post.state, post.unpublish_at) == (Post.State.DRAFT, None)
    assert post.revisions.filter(reason=Revision.Reason.SCHEDULE).count() == 1


def test_upcoming_events_are_soonest_first():
    first, second = make_post(1), make_post(2)
    services.post_set_schedule(first.pk, publish_at=in_seconds(300), unpublish_at=in_seconds(900))
    services.post_set_schedule(second.pk, publish_at=None, unpublish_at=in_seconds(600))
    events = [(kind, post.pk) for _, kind, post in scheduling.upcoming_events()]
    assert events == [("publish", first.pk), ("unpublish", second.pk), ("unpublish", first.pk)]
    assert scheduling.next_scheduled_event() == Post.objects.get(pk=first.pk).publish_at


# -- the request path ------------------------------------------------------------------


def test_the_first_request_past_the_time_applies_it_and_already_sees_it(client, live_clock):
    post = make_draft(1)
    publish_at = in_seconds(1.0)
    services.post_set_schedule(post.pk, publish_at=publish_at, unpublish_at=None)
    live_clock.forget()  # on_commit does it in production; the test's transaction never commits
    article = post.get_absolute_url()

    before = client.get(article)
    home = client.get("/")
    assert (before.status_code, before["X-Cache"]) == (404, "MISS")
    assert post.title not in home.content.decode()
    # Stored only until publish_at: neither the store, a CDN nor a browser keeps it longer.
    assert max(_max_ages(home)) <= 1
    assert client.get("/")["X-Cache"] == "HIT"

    wait_until(publish_at)
    after = client.get(article)
    assert (after.status_code, after["X-Cache"]) == (200, "MISS")
    home = client.get("/")
    assert home["X-Cache"] == "MISS" and post.title in home.content.decode()
    assert Revision.objects.filter(post=post, reason=Revision.Reason.SCHEDULE).count() == 1
    assert Post.objects.get(pk=post.pk).publish_at is None
    assert "max-age=60" in client.get("/")["Cache-Control"]  # nothing scheduled any more: the usual lifetime


def _max_ages(response) -> tuple[int, int]:
    parts = dict(part.strip().split("=") for part in response["Cache-Control"].split(",")[1:])
    return int(parts["max-age"]), int(parts["s-maxage"])


def test_every_reader_page_is_capped_at_the_next_event(client, live_clock):
    make_post(1)
    services.post_set_schedule(make_post(2).pk, publish_at=None, unpublish_at=in_seconds(100))
    live_clock.forget()
    response = client.get("/")
    browser, shared = _max_ages(response)
    assert browser == 60 and 98 <= shared <= 100
    stored = page_cache().get("/")
    assert stored.expires == pytest.approx(scheduling.next_scheduled_event().timestamp())


def test_a_page_past_its_expiry_is_never_served(client):
    make_post(1)
    cache = page_cache()
    headers = [("Content-Type", "text/html; charset=utf-8")]

    def store(expires):
        page = CachedPage(200, headers, b"old", time.time() - 1, '"e"', ["list:home"], expires=expires, final=True)
        cache.set("/", page, ttl=60, since=cache.generation(fresh=True))

    # No sleeping: a slow CI machine must not turn "before the expiry" into "after it".
    store(expires=time.time() + 60)
    assert client.get("/").content == b"old"
    store(expires=time.time() - 0.01)  # still in the store (its ttl runs on), but past the moment the page changes
    response = client.get("/")
    assert response["X-Cache"] == "MISS" and response.content != b"old"


def test_publish_scheduled_command(manage, transactional_db):
    post = make_draft(1)
    services.post_set_schedule(post.pk, publish_at=in_seconds(0.2), unpublish_at=None)
    time.sleep(0.3)
    result = manage("publish_scheduled")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == ["applied 1 scheduled event(s)", "next: none scheduled"]
    assert Post.objects.get(pk=post.pk).is_published


# -- the admin ---------------------------------------------------------------------------


def test_only_reviewers_set_a_schedule(live_clock):
    post = make_post(1)
    editor = client_for(make_user("ed", "Editors"))
    form = editor.get(change_url(post))
    assert "publish_at" not in form.context["adminform"].form.fields
    response = editor.post(
        change_url(post), changeform_data(form, publish_at_0="2030-01-01", publish_at_1="09:00:00", summary="x")
    )
    assert response.status_code == 302, form_errors(response)
    assert Post.objects.get(pk=post.pk).publish_at is None


@pytest.mark.parametrize(
    ("day", "clock_time", "utc"),
    [
        ("2026-03-28", "09:00:00", datetime.datetime(2026, 3, 28, 8, 0, tzinfo=datetime.UTC)),  # CET, UTC+1
        ("2026-03-29", "09:00:00", datetime.datetime(2026, 3, 29, 7, 0, tzinfo=datetime.UTC)),  # CEST, UTC+2
        ("2026-10-25", "09:00:00", datetime.datetime(2026, 10, 25, 8, 0, tzinfo=datetime.UTC)),  # CET again
    ],
)
def test_a_schedule_is_entered_and_shown_in_the_sites_time_zone(settings, day, clock_time, utc):
    settings.TIME_ZONE = "Europe/Berlin"
    post = make_post(1)
    both = client_for(make_user("pat", "Editors", "Reviewers"))
    form = both.get(change_url(post))
    response = both.post(change_url(post), changeform_data(form, publish_at_0=day, publish_at_1=clock_time))
    assert response.status_code == 302, form_errors(response)
    stored = Post.objects.get(pk=post.pk)
    assert stored.publish_at == utc
    shown = both.get(change_url(post)).content.decode()
    assert f'value="{day}"' in shown and f'value="{clock_time}"' in shown
    listing = both.get(reverse("admin:posts_post_changelist") + "?schedule=publish").content.decode()
    assert f"scheduled: publishes {day} {clock_time} {utc.astimezone(BERLIN).tzname()}" in listing


def test_a_time_the_clocks_skip_or_repeat_is_refused(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    post = make_post(1)
    both = client_for(make_user("pat", "Editors", "Reviewers"))
    for day, clock_time in (("2026-03-29", "02:30:00"), ("2026-10-25", "02:30:00")):  # skipped, then repeated
        form = both.get(change_url(post))
        response = both.post(change_url(post), changeform_data(form, publish_at_0=day, publish_at_1=clock_time))
        assert response.status_code == 200
        assert "publish_at" in form_errors(response)
    assert Post.objects.get(pk=post.pk).publish_at is None


def test_unpublish_must_come_after_publish(settings):
    post = make_post(1)
    both = client_for(make_user("pat", "Editors", "Reviewers"))
    form = both.get(change_url(post))
    data = changeform_data(
        form, publish_at_0="2030-01-02", publish_at_1="09:00:00", unpublish_at_0="2030-01-01", unpublish_at_1="09:00"
    )
    assert form_errors(both.post(change_url(post), data)) == {"unpublish_at": ["Unpublish after the publication time."]}


def test_upcoming_page_lists_events_soonest_first(admin_client):
    late, soon = make_post(1), make_post(2)
    services.post_set_schedule(late.pk, publish_at=in_seconds(7200), unpublish_at=None)
    services.post_set_schedule(soon.pk, publish_at=None, unpublish_at=in_seconds(3600))
    page = admin_client.get(reverse("admin:posts_post_upcoming")).content.decode()
    assert page.index(soon.title) < page.index(late.title)
    assert "Upcoming publications and unpublications" in admin_client.get(reverse("admin:index")).content.decode()


# -- import and export ------------------------------------------------------------------------


def test_import_publish_at_schedules_the_posts_it_creates(tmp_path, sample_record):
    from django.core.management import call_command

    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(sample_record) + "\n")
    call_command("import_posts", str(path), "--publish-at", "2030-06-01T09:00:00+02:00", "--workers", "1")
    post = Post.objects.get()
    assert post.publish_at == datetime.datetime(2030, 6, 1, 7, 0, tzinfo=datetime.UTC)
    assert not post.is_published


def test_export_with_schedule_round_trips(tmp_path, sample_record):
    from django.core.management import call_command

    from posts.importing import import_records

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(sample_record) + "\n")
    import_records([str(source)], workers=1, reject_path=tmp_path / "r.jsonl")
    post = Post.objects.get()
    publish_at = datetime.datetime(2030, 6, 1, 7, 0, tzinfo=datetime.UTC)
    services.post_set_schedule(post.pk, publish_at=publish_at, unpublish_at=publish_at + datetime.timedelta(days=7))

    plain, scheduled = tmp_path / "plain.jsonl", tmp_path / "scheduled.jsonl"
    call_command("export_posts", "--output", str(plain))
    call_command("export_posts", "--schedule", "--output", str(scheduled))
    assert "_schedule" not in json.loads(plain.read_text())  # the record format, unchanged
    record = json.loads(scheduled.read_text())
    assert record["_schedule"] == {
        "publish_at": "2030-06-01T07:00:00+00:00",
        "unpublish_at": "2030-06-08T07:00:00+00:00",
    }
    assert {key: value for key, value in record.items() if key != "_schedule"} == json.loads(plain.read_text())

    Post.objects.all().delete()
    report = import_records([str(scheduled)], workers=1, reject_path=tmp_path / "r2.jsonl")
    assert report.created == 1 and report.rejected == 0
    again = Post.objects.get()
    assert (again.publish_at, again.unpublish_at) == (publish_at, publish_at + datetime.timedelta(days=7))


def test_a_malformed_schedule_is_rejected_by_field(tmp_path, sample_record):
    from posts.importing import import_records

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({**sample_record, "_schedule": {"publish_at": "2030-06-01 09:00"}}) + "\n")
    report = import_records([str(source)], workers=1, reject_path=tmp_path / "r.jsonl")
    assert report.rejected == 1
    assert report.errors[0].field == "_schedule.publish_at"
