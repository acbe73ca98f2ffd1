"""import_posts: counts, revisions, rejects, exit status, crash safety, concurrency."""

import gc
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from alphanode.ops.models import ImportRun
from posts.importing import import_records
from posts.models import Entity, ImageSource, Post, Revision, StackTag
from tests.conftest import ROOT, SAMPLE_JSON, SAMPLE_JSONL, subprocess_env
from tests.factories import make_record

pytestmark = pytest.mark.django_db


def write_jsonl(path, items) -> str:
    with open(path, "wb") as out:
        for item in items:
            out.write(item if isinstance(item, bytes) else json.dumps(item).encode())
            out.write(b"\n")
    return str(path)


def test_import_twice_is_unchanged_and_writes_nothing(tmp_path):
    first = import_records([str(SAMPLE_JSON)], workers=1, reject_path=tmp_path / "r.jsonl")
    assert (first.created, first.updated, first.unchanged, first.rejected) == (1, 0, 0, 0)
    post = Post.objects.get()
    second = import_records([str(SAMPLE_JSONL)], workers=1, reject_path=tmp_path / "r.jsonl")
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 1, 0)
    assert Revision.objects.count() == 1
    post_after = Post.objects.get()
    assert post_after.updated_at == post.updated_at
    assert post_after.lock_version == post.lock_version


def test_changed_field_updates_and_keeps_old_content_in_first_revision(tmp_path, sample_record):
    import_records([str(SAMPLE_JSON)], workers=1)
    sample_record["score"]["quality"] = 40
    report = import_records([write_jsonl(tmp_path / "changed.jsonl", [sample_record])], workers=1)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    first, second = Revision.objects.order_by("id")
    assert json.loads(first.snapshot)["score"]["quality"] == 92
    assert json.loads(second.snapshot)["score"]["quality"] == 40
    assert Post.objects.get().score_quality == 40


def test_summary_line_and_exit_status_zero(tmp_path, capsys):
    call_command("import_posts", str(SAMPLE_JSON), "--workers", "1", "--rejects", str(tmp_path / "r.jsonl"))
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("created 1, updated 0, unchanged 0, held 0, rejected 0 in ")
    assert last.endswith(" records/s)")


def bad_records(sample: dict) -> dict[str, bytes]:
    """One bad input line per kind of mistake, keyed by the field the report must name."""

    def variant(number, change):
        record = make_record(number)
        change(record)
        return json.dumps(record).encode()

    return {
        "reading_time": variant(101, lambda r: r.update(reading_time="ten")),
        "score.quality": variant(102, lambda r: r["score"].update(quality=140)),
        "revision.last_reviewed": variant(103, lambda r: r["revision"].update(last_reviewed="2021-13-45")),
        "image_sources[0].url": variant(104, lambda r: r["image_sources"][0].update(url="javascript:alert(1)")),
        "colour": variant(105, lambda r: r.update(colour="blue")),
        "payload.source_id": variant(106, lambda r: r["payload"].pop("source_id")),
        "reference": variant(107, lambda r: r.update(reference=sample["reference"])),
        "(line)": b'{"title": "broken", ',
        "(utf-8)": b'{"title": "caf\xe9"}',
    }


# With worker processes the raw bytes stay in the importer and are joined back to each result.
@pytest.mark.parametrize("workers", ["1", "2"])
def test_mixed_file_stores_every_good_record_and_rejects_every_bad_one(tmp_path, sample_record, workers):
    bad = bad_records(sample_record)
    good = [sample_record, make_record(1), make_record(2)]
    lines = [good[0], bad["reading_time"], good[1], *list(bad.values())[1:], good[2]]
    source = write_jsonl(tmp_path / "mixed.jsonl", lines)
    rejects = tmp_path / "rejects.jsonl"

    with pytest.raises(CommandError) as raised:
        call_command("import_posts", source, "--workers", workers, "--rejects", str(rejects))
    assert raised.value.returncode == 1

    assert set(Post.objects.values_list("source_id", flat=True)) == {"alphanode-004577", "test-000001", "test-000002"}
    # Validation rejects come out in input order; the database's (the taken reference) when its batch is written.
    rejected_lines = rejects.read_bytes().splitlines()
    assert sorted(rejected_lines) == sorted(bad.values())  # unchanged bytes
    errors = [json.loads(line) for line in (tmp_path / "rejects.jsonl.errors.jsonl").read_text().splitlines()]
    summary = errors.pop()
    assert "rejected 9" in summary["summary"]
    fields = [error["field"] for error in errors]
    assert sorted(fields) == sorted(
        [
            "reading_time",
            "score.quality",
            "revision.last_reviewed",
            "image_sources[0].url",
            "colour",
            "payload.source_id",
            "reference",
            "(line)",
            "(line)",
        ]
    )
    for line, error in zip(rejected_lines, errors, strict=True):
        number = int(error["location"].rsplit(":", 1)[1])
        assert lines[number - 1] == line
    by_field = {error["field"]: error for error in errors}
    assert by_field["score.quality"]["expected"] == "int <= 100"
    assert by_field["score.quality"]["found"] == "140"
    assert by_field["score.quality"]["source_id"] == "test-000102"
    assert by_field["score.quality"]["location"] == f"{source}:4"
    assert by_field["reading_time"]["found"] == "'ten'"
    assert "ISO date" in by_field["revision.last_reviewed"]["expected"]
    assert by_field["image_sources[0].url"]["expected"] == "an http:// or https:// URL"
    assert "unknown field" in by_field["colour"]["found"]
    assert by_field["reference"]["found"].endswith("already used by source_id 'alphanode-004577'")
    assert [error["expected"] for error in errors if error["field"] == "(line)"] == ["one JSON record", "UTF-8 text"]
    assert not any(error["retryable"] for error in errors)


def test_exit_status_in_a_real_process(tmp_path, manage, transactional_db):
    source = write_jsonl(tmp_path / "bad.jsonl", [b"not json"])
    assert manage("import_posts", source, "--rejects", str(tmp_path / "r.jsonl")).returncode == 1
    assert manage("import_posts", str(SAMPLE_JSON)).returncode == 0
    missing = manage("import_posts", str(tmp_path / "missing.jsonl"))
    assert missing.returncode == 2
    assert b"no such file" in missing.stderr
    assert manage("import_posts", str(SAMPLE_JSON), "--no-such-option").returncode == 2


def test_reads_json_arrays_gzip_directories_and_stdin(tmp_path, manage, transactional_db):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps([make_record(1), make_record(2)]))
    with gzip.open(folder / "b.jsonl.gz", "wb") as out:
        out.write(json.dumps(make_record(3)).encode() + b"\n")
    (folder / "ignored.txt").write_text("not a record file")
    report = import_records([str(folder)], workers=1)
    assert report.created == 3
    result = manage("import_posts", "-", stdin=json.dumps(make_record(4)).encode() + b"\n")
    assert result.returncode == 0, result.stderr
    assert Post.objects.count() == 4


def test_broken_json_array_keeps_the_elements_before_the_break(tmp_path):
    text = json.dumps([make_record(1), make_record(2)])[:-1] + ', {"title": oops}]'
    (tmp_path / "broken.json").write_text(text)
    report = import_records([str(tmp_path / "broken.json")], workers=1, reject_path=tmp_path / "r.jsonl")
    assert (report.created, report.rejected) == (2, 1)
    assert (tmp_path / "r.jsonl").read_text().startswith('{"title": oops}')


def test_dry_run_writes_nothing(tmp_path):
    report = import_records([str(SAMPLE_JSON)], workers=1, dry_run=True)
    assert report.created == 1
    assert Post.objects.count() == 0
    assert Revision.objects.count() == 0


def test_worker_processes_give_the_same_result(tmp_path):
    source = write_jsonl(tmp_path / "many.jsonl", [make_record(n) for n in range(1, 301)])
    report = import_records([source], workers=2, batch_size=64)
    assert (report.created, report.rejected) == (300, 0)
    assert StackTag.objects.count() == 900
    assert ImageSource.objects.count() == 300
    assert Entity.objects.count() == 3


def test_an_import_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    source = write_jsonl(tmp_path / "few.jsonl", [make_record(n) for n in range(1, 4)])
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    import_records([source], workers=2)
    assert (gc.get_threshold(), gc.get_freeze_count()) == (thresholds, frozen)

    def interrupted(count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # an import stopped midway, after its first batch
        import_records([source], workers=1, progress=interrupted)
    assert (gc.get_threshold(), gc.get_freeze_count()) == (thresholds, frozen)


def test_an_import_keeps_what_its_caller_froze_frozen(tmp_path):
    source = write_jsonl(tmp_path / "one.jsonl", [make_record(1)])
    gc.freeze()
    try:
        import_records([source], workers=1)
        assert gc.get_freeze_count() > 0  # unfreeze() would have released them all
    finally:
        gc.unfreeze()


def test_same_post_twice_in_one_file_applies_in_order(tmp_path):
    first = make_record(1)
    second = make_record(1, summary="a later summary")
    report = import_records([write_jsonl(tmp_path / "twice.jsonl", [first, second])], workers=1)
    assert (report.created, report.updated) == (1, 1)
    assert Post.objects.get().summary == "a later summary"


def generate(tmp_path, count: int, seed: int = 3) -> str:
    path = tmp_path / f"generated-{count}.jsonl"
    call_command("generate_posts", "--count", str(count), "--seed", str(seed), "--output", str(path))
    return str(path)


@pytest.mark.slow
def test_kill_9_mid_import_then_rerun_stores_each_record_once(tmp_path, transactional_db):
    source = generate(tmp_path, 3000)
    command = [
        sys.executable,
        "manage.py",
        "import_posts",
        source,
        "--batch-size",
        "200",
        "--rejects",
        str(tmp_path / "r.jsonl"),
    ]
    # Its own process group, so the kill takes the worker processes too: left alive, they
    # would keep the database connection they inherited open and block dropping the test DB.
    process = subprocess.Popen(
        command, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while Post.objects.count() < 400 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the import finished before it could be killed; make the input larger"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    stored = Post.objects.count()
    assert 0 < stored < 3000

    rerun = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = rerun.stdout.decode().strip().splitlines()[-1]
    assert summary.startswith(f"created {3000 - stored}, updated 0, unchanged {stored}, held 0, rejected 0")
    assert Post.objects.count() == 3000
    assert Revision.objects.count() == 3000


@pytest.mark.slow
def test_two_imports_of_the_same_file_at_once_create_no_duplicates(tmp_path, transactional_db):
    source = generate(tmp_path, 1000)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "import_posts",
                source,
                "--batch-size",
                "100",
                "--rejects",
                str(tmp_path / f"r{n}.jsonl"),
            ],
            cwd=ROOT,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert Post.objects.count() == 1000
    assert Revision.objects.count() == 1000
    created = [int(out.decode().strip().splitlines()[-1].split()[1].rstrip(",")) for out, _ in outputs]
    assert sum(created) == 1000


@pytest.mark.slow
def test_ten_thousand_generated_posts(tmp_path):
    source = generate(tmp_path, 10_000, seed=11)
    report = import_records([source], reject_path=tmp_path / "r.jsonl")
    assert (report.created, report.updated, report.unchanged, report.rejected) == (10_000, 0, 0, 0)
    assert Post.objects.count() == 10_000
    assert Post.objects.filter(needs_human_review=True).count() == pytest.approx(10_000 / 3, rel=0.1)


def test_each_run_is_recorded_for_monitoring(tmp_path):
    import_records([str(SAMPLE_JSON)], workers=1)
    source = write_jsonl(tmp_path / "bad.jsonl", [b"nope"])
    import_records([source], workers=1, reject_path=tmp_path / "r.jsonl")
    good, bad = ImportRun.objects.order_by("started_at")
    assert (good.status, good.created, good.rejected) == ("finished", 1, 0)
    assert (bad.status, bad.rejected, bad.reject_file) == ("finished", 1, str(tmp_path / "r.jsonl"))
    assert good.finished_at >= good.started_at


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_broken_gzip_stops_the_run_with_a_clear_error_and_keeps_what_was_read(tmp_path, workers):
    good = gzip.compress(b"".join(json.dumps(make_record(n)).encode() + b"\n" for n in (1, 2)))
    (tmp_path / "a-good.jsonl.gz").write_bytes(good)
    (tmp_path / "b-truncated.jsonl.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(CommandError) as raised:
        call_command("import_posts", str(tmp_path), "--workers", workers, stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 1
    assert "b-truncated.jsonl.gz: the file broke while being read (EOFError" in str(raised.value)
    assert Post.objects.count() == 2  # the good file's records are stored
    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert run.error.startswith(f"{tmp_path}/b-truncated.jsonl.gz: the file broke")


def test_a_held_record_is_counted_once_in_the_total_and_the_rate(tmp_path):
    from tests.factories import edit_post

    import_records([write_jsonl(tmp_path / "first.jsonl", [make_record(1), make_record(2)])], workers=1)
    edit_post(Post.objects.get(source_id="test-000001"), summary="An editor's summary.")
    newer = [make_record(1, summary="The generator's new summary."), make_record(2, summary="Also new.")]
    report = import_records([write_jsonl(tmp_path / "second.jsonl", newer)], workers=1)
    assert (report.created, report.updated, report.unchanged, report.held, report.rejected) == (0, 1, 0, 1, 0)
    assert report.total == 2
    report.seconds = 2.0
    assert report.summary() == "created 0, updated 1, unchanged 0, held 1, rejected 0 in 2.0 s (1 records/s)"
    run = ImportRun.objects.order_by("-id").first()
    assert (run.updated, run.held) == (1, 1)


# -- planner statistics after a bulk load


def _estimated_posts() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'posts_post'")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics are PostgreSQL's (CI's second run)")
def test_an_import_that_changes_a_tenth_of_the_posts_refreshes_the_planners_statistics(tmp_path):
    from posts import bulk

    # Statistics outlive the tests that made them (ANALYZE is not rolled back): start from the truth.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE posts_post")
    assert _estimated_posts() in (0, -1)
    path = write_jsonl(tmp_path / "posts.jsonl", [make_record(number) for number in range(1, 81)])
    import_records([path], workers=1, reject_path=tmp_path / "r.jsonl")
    # 80 posts on none is over autovacuum's rule: the import analyzed what it wrote.
    assert _estimated_posts() == 80
    # 5 more posts on 80 is under autovacuum's rule (50 + 10%): left to it.
    assert bulk.refresh_statistics([Post], rows_written=5) is False
    assert bulk.refresh_statistics([Post], rows_written=59) is True


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics are PostgreSQL's (CI's second run)")
def test_the_analyze_after_an_import_keeps_the_statistics_queries_use_and_skips_the_large_text(tmp_path):
    path = write_jsonl(tmp_path / "posts.jsonl", [make_record(number) for number in range(1, 81)])
    import_records([path], workers=1, reject_path=tmp_path / "r.jsonl")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, attname FROM pg_stats WHERE tablename IN ('posts_post', 'posts_revision')")
        analyzed = set(cursor.fetchall())
    for column in ("id", "state", "needs_human_review", "published_at", "updated_at", "slug", "search_vector"):
        assert ("posts_post", column) in analyzed
    assert ("posts_revision", "post_id") in analyzed
    for column in ("body", "body_html", "meta_html", "payload", "page_facts"):
        assert ("posts_post", column) not in analyzed
    assert ("posts_revision", "snapshot") not in analyzed


# -- a batch the database refuses


@pytest.fixture
def refused_title():
    """A trigger that makes the database refuse any post whose title contains "refuse me"."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.title LIKE '%refuse me%' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; "
                "RETURN NEW; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON posts_post FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON posts_post WHEN NEW.title LIKE '%refuse me%' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
            )
    yield "refuse me"
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_refuse" + (" ON posts_post" if connection.vendor == "postgresql" else ""))
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION test_refuse()")


def test_a_record_the_database_refuses_is_rejected_and_its_batch_neighbours_stored(tmp_path, refused_title):
    items = [make_record(number) for number in range(1, 13)]
    items[7]["title"] = f"A post the database will {refused_title}"
    path = write_jsonl(tmp_path / "posts.jsonl", items)
    report = import_records([path], workers=1, batch_size=5, reject_path=tmp_path / "r.jsonl")
    assert (report.created, report.rejected) == (11, 1)
    assert report.errors[0].field == "(database)"
    assert "refused by the test trigger" in report.errors[0].found
    assert Post.objects.count() == 11
    assert json.loads((tmp_path / "r.jsonl").read_bytes())["title"] == items[7]["title"]
