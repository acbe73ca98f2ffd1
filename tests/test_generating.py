"""generate_posts: deterministic, varied, valid."""

import collections
import datetime
import io
import json

import pytest
from django.core.management import call_command

from posts import records
from posts.generating import generate_lines


def test_same_seed_same_bytes_and_other_seed_other_bytes():
    assert b"".join(generate_lines(50, seed=5)) == b"".join(generate_lines(50, seed=5))
    assert b"".join(generate_lines(50, seed=5)) != b"".join(generate_lines(50, seed=6))


def test_a_slice_regenerates_on_its_own():
    whole = list(generate_lines(20, seed=9))
    assert list(generate_lines(5, seed=9, start=10)) == whole[10:15]


def test_records_are_valid_unique_and_varied():
    items = [json.loads(line) for line in generate_lines(600, seed=2)]
    for item in items:
        records.validate(item)
    assert len({item["payload"]["source_id"] for item in items}) == 600
    assert len({item["reference"] for item in items}) == 600
    assert len({item["title"] for item in items}) > 100
    assert len({item["code_language"] for item in items}) >= 8
    assert {len(item["image_sources"]) for item in items} == {0, 1, 2, 3}
    flagged = sum(item["flags"]["needs_human_review"] for item in items)
    assert 150 < flagged < 250  # about a third
    counts = collections.Counter(tag for item in items for tag in item["tools"])
    assert "asyncio.gather" in counts


def test_command_writes_to_stdout_and_files(tmp_path, capsysbinary):
    call_command("generate_posts", "--count", "3", "--seed", "4")
    assert len(capsysbinary.readouterr().out.splitlines()) == 3
    call_command(
        "generate_posts", "--count", "3", "--seed", "4", "--output", str(tmp_path / "g.jsonl"), stdout=io.StringIO()
    )
    assert (tmp_path / "g.jsonl").read_bytes() == b"".join(generate_lines(3, seed=4))


def test_publication_times_are_deterministic_spread_and_before_now():
    from django.utils import timezone

    from posts.generating import publication_time, publication_time_of

    times = [publication_time(1, index) for index in range(300)]
    assert times == [publication_time(1, index) for index in range(300)]
    assert len({time.date() for time in times}) > 200
    assert max(times) - min(times) > datetime.timedelta(days=600)
    assert max(times) < timezone.now()
    assert publication_time_of("gen-1-0000007") == publication_time(1, 7)
    assert publication_time_of("alphanode-004577") is None


@pytest.mark.django_db
def test_date_generated_posts_dates_generated_posts_from_their_seed_and_keeps_the_others(
    sample_record, django_capture_on_commit_callbacks, client
):
    from posts.generating import generate_record, publication_time
    from posts.models import Post
    from tests.factories import write_records

    write_records(sample_record, *(generate_record(1, index) for index in range(5)))
    sample_date = Post.objects.get(source_id="alphanode-004577").published_at
    client.get("/")  # cached, then purged by the dating
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("date_generated_posts", stdout=out)
    assert out.getvalue().strip() == "dated 5 of 5 generated posts"
    for index in range(5):
        assert Post.objects.get(source_id=f"gen-1-{index:07d}").published_at == publication_time(1, index)
    assert Post.objects.get(source_id="alphanode-004577").published_at == sample_date
    # The sample is the newest post: the first on the home page.
    assert Post.objects.latest_published().first().source_id == "alphanode-004577"
    response = client.get("/")
    assert response["X-Cache"] == "MISS"
    call_command("date_generated_posts", stdout=out)
    assert out.getvalue().strip().endswith("dated 0 of 5 generated posts")
