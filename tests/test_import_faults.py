"""Faults during an import, against a private PostgreSQL cluster: kill -9, a server restart, two importers.

Every test here stops processes or the database server, so they run against a
cluster the module starts for itself (tests/pg_cluster.py), never the shared
one. The input is the generator's output with bad lines mixed in, so that the
reject file is checked too: after the faults and one clean run, every good
record is stored exactly once and the reject file holds exactly the bad lines.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from posts.generating import generate_lines
from posts.importing import EXIT_RETRY
from tests.conftest import ROOT, subprocess_env
from tests.pg_cluster import start_cluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="runs once, in the PostgreSQL pass of .ci/run: it needs PostgreSQL's server binaries",
    ),
]


@pytest.fixture(scope="module")
def cluster():
    cluster = start_cluster()
    try:
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=subprocess_env(DATABASE_URL=cluster.url()),
            capture_output=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def empty(cluster):
    """Each test starts with no posts (tables emptied, migrations kept)."""
    cluster.query(
        "TRUNCATE posts_post, posts_revision, posts_stacktag, posts_tooltag, posts_postentity, posts_imagesource, "
        "posts_entity, taggit_tag, posts_importrun CASCADE"
    )
    return cluster


def bad_line(number: int) -> bytes:
    """A record the importer must reject (a different mistake by number)."""
    record = json.loads(next(generate_lines(1, seed=99, start=number)))
    kind = number % 4
    if kind == 0:
        record["score"]["quality"] = 140
    elif kind == 1:
        record["revision"]["last_reviewed"] = "2021-02-30"
    elif kind == 2:
        record["title"] = "nul \u0000 inside"
    else:
        return b'{"title": "cut short", '
    return json.dumps(record).encode()


def write_input(path, count: int, bad_every: int = 0) -> tuple[int, list[bytes]]:
    """`count` generated records, with a bad line after every `bad_every`; returns (good, bad lines)."""
    bad = []
    with path.open("wb") as out:
        for number, good in enumerate(generate_lines(count, seed=5), start=1):
            out.write(good)
            if bad_every and number % bad_every == 0:
                bad.append(bad_line(number))
                out.write(bad[-1] + b"\n")
    return count, bad


def import_command(source, rejects, *extra: str) -> list[str]:
    return [sys.executable, "manage.py", "import_posts", str(source), "--rejects", str(rejects), *extra]


def start(cluster, command: list[str], **env) -> subprocess.Popen:
    # A process group of its own, so that a kill takes its worker processes too.
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=subprocess_env(DATABASE_URL=cluster.url(), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stored(cluster) -> int:
    return cluster.query("SELECT count(*) FROM posts_post")[0][0]


def assert_exact(cluster, good: int) -> None:
    posts, distinct, references = cluster.query(
        "SELECT count(*), count(DISTINCT source_id), count(DISTINCT reference) FROM posts_post"
    )[0]
    assert (posts, distinct, references) == (good, good, good)
    revisions, revised_posts = cluster.query("SELECT count(*), count(DISTINCT post_id) FROM posts_revision")[0]
    assert (revisions, revised_posts) == (good, good)
    # No post half-written: every post has its tags, entities and the revision of its own content.
    (missing,) = cluster.query(
        "SELECT count(*) FROM posts_post p WHERE NOT EXISTS (SELECT 1 FROM posts_stacktag s "
        "WHERE s.content_object_id = p.id) OR NOT EXISTS (SELECT 1 FROM posts_postentity e WHERE e.post_id = p.id) "
        "OR NOT EXISTS (SELECT 1 FROM posts_revision r WHERE r.post_id = p.id AND r.record_hash = p.record_hash)"
    )[0]
    assert missing == 0


def summary_of(output: bytes) -> str:
    return output.decode().strip().splitlines()[-1]


def test_kill_9_three_times_mid_import_then_a_rerun_stores_everything_once(empty, tmp_path):
    cluster = empty
    source, rejects = tmp_path / "posts.jsonl", tmp_path / "rejects.jsonl"
    good, bad = write_input(source, 20_000, bad_every=400)
    command = import_command(source, rejects, "--batch-size", "500")
    chooser = random.Random(int(os.environ.get("FAULT_SEED", time.time())))
    kills = []
    for _ in range(3):
        before = stored(cluster)
        # Somewhere in the next stretch: mid-batch, between batches, during validation.
        target = before + chooser.randint(1, 3000)
        process = start(cluster, command)
        deadline = time.monotonic() + 300
        while stored(cluster) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(chooser.uniform(0.01, 0.2))
        assert process.poll() is None, "the import ended before the kill; kill earlier"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        kills.append(stored(cluster))
        assert_exact(cluster, kills[-1])
    assert kills == sorted(kills) and 0 < kills[-1] < good

    rerun = subprocess.run(
        command, cwd=ROOT, env=subprocess_env(DATABASE_URL=cluster.url()), capture_output=True, timeout=900
    )
    assert rerun.returncode == 1, rerun.stderr  # 1: some records were rejected (the bad lines)
    assert summary_of(rerun.stdout).startswith(
        f"created {good - kills[-1]}, updated 0, unchanged {kills[-1]}, held 0, rejected {len(bad)} in "
    )
    assert_exact(cluster, good)
    assert sorted(rejects.read_bytes().splitlines()) == sorted(bad)
    errors = (tmp_path / "rejects.jsonl.errors.jsonl").read_text().splitlines()
    assert len(errors) == len(bad) + 1  # one reason per rejected line, then the summary
    print(f"killed at {kills} stored posts; the rerun stored the other {good - kills[-1]}")


def test_a_restart_of_postgresql_mid_import_is_ridden_out(empty, tmp_path):
    cluster = empty
    source, rejects = tmp_path / "posts.jsonl", tmp_path / "rejects.jsonl"
    good, bad = write_input(source, 4000, bad_every=500)
    process = start(cluster, import_command(source, rejects, "--batch-size", "200", "--retry-seconds", "60"))
    deadline = time.monotonic() + 300
    while stored(cluster) < 800 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None
    cluster.stop("fast")
    time.sleep(2)  # the importer keeps trying while the server is down
    cluster.start()
    out, err = process.communicate(timeout=600)
    assert process.returncode == 1, err  # 1: the bad lines, nothing else
    # A batch whose commit went through just as the server went down comes back "unchanged" on its retry.
    created, _, unchanged, _, rejected = (int(summary_of(out).split()[n].rstrip(",")) for n in (1, 3, 5, 7, 9))
    assert (created + unchanged, rejected) == (good, len(bad))
    assert summary_of(out).split()[2:4] == ["updated", "0,"]
    assert b"retrying the batch" in out + err  # the log line (logs go to stdout)
    assert_exact(cluster, good)
    assert sorted(rejects.read_bytes().splitlines()) == sorted(bad)
    assert all(not json.loads(line).get("retryable") for line in (tmp_path / "rejects.jsonl.errors.jsonl").open())


def test_a_database_down_past_the_retry_window_stops_with_a_retryable_status(empty, tmp_path):
    cluster = empty
    source, rejects = tmp_path / "posts.jsonl", tmp_path / "rejects.jsonl"
    good, bad = write_input(source, 3000, bad_every=300)
    command = import_command(source, rejects, "--batch-size", "200")
    process = start(cluster, [*command, "--retry-seconds", "3"])
    deadline = time.monotonic() + 300
    while stored(cluster) < 400 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None
    cluster.stop("fast")
    try:
        _out, err = process.communicate(timeout=120)
    finally:
        cluster.start()
    assert process.returncode == EXIT_RETRY
    message = err.decode()
    assert "the database was unreachable for 3 s" in message
    assert "run the same command again once the database is back to resume" in message
    assert "Traceback" not in message
    before = stored(cluster)
    assert_exact(cluster, before)

    rerun = subprocess.run(
        command, cwd=ROOT, env=subprocess_env(DATABASE_URL=cluster.url()), capture_output=True, timeout=600
    )
    assert rerun.returncode == 1, rerun.stderr
    assert summary_of(rerun.stdout).startswith(
        f"created {good - before}, updated 0, unchanged {before}, held 0, rejected {len(bad)} in "
    )
    assert_exact(cluster, good)
    assert sorted(rejects.read_bytes().splitlines()) == sorted(bad)


def test_the_same_file_imported_by_two_processes_at_once(empty, tmp_path):
    cluster = empty
    source = tmp_path / "posts.jsonl"
    good, bad = write_input(source, 3000, bad_every=250)
    processes = [
        start(cluster, import_command(source, tmp_path / f"rejects-{n}.jsonl", "--batch-size", "250")) for n in (1, 2)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [1, 1], outputs
    assert_exact(cluster, good)
    created = [int(summary_of(out).split()[1].rstrip(",")) for out, _ in outputs]
    unchanged = [int(summary_of(out).split()[5].rstrip(",")) for out, _ in outputs]
    assert sum(created) == good
    assert [c + u for c, u in zip(created, unchanged, strict=True)] == [good, good]
    for n in (1, 2):
        assert sorted((tmp_path / f"rejects-{n}.jsonl").read_bytes().splitlines()) == sorted(bad)
