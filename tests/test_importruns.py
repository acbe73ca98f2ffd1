"""Import runs whose process died are found and marked failed, never left "running"."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from alphanode.ops import importruns
from alphanode.ops.models import ImportRun
from posts.models import Post
from tests.conftest import ROOT, SAMPLE_JSONL, subprocess_env
from tests.factories import make_user


def exited_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.django_db
def test_the_monitoring_page_marks_runs_whose_process_is_gone(client):
    host = importruns.this_host()
    dead = ImportRun.objects.create(sources="a.jsonl", host=host, pid=exited_pid())
    alive = ImportRun.objects.create(sources="b.jsonl", host=host, pid=os.getpid())
    elsewhere = ImportRun.objects.create(sources="c.jsonl", host="another-host", pid=exited_pid())
    client.force_login(make_user("ops", is_superuser=True))
    page = client.get("/ops/")
    assert page.status_code == 200
    dead.refresh_from_db()
    assert dead.status == ImportRun.Status.FAILED
    assert f"pid {dead.pid}" in dead.error and dead.finished_at is not None
    assert ImportRun.objects.get(pk=alive.pk).status == ImportRun.Status.RUNNING
    # Another machine's process ids mean nothing here: that host marks its own runs.
    assert ImportRun.objects.get(pk=elsewhere.pk).status == ImportRun.Status.RUNNING


@pytest.mark.slow
def test_an_import_killed_with_sigkill_is_marked_failed_by_the_next_import(tmp_path, transactional_db):
    source = tmp_path / "generated.jsonl"
    call_command("generate_posts", "--count", "3000", "--seed", "11", "--output", str(source))
    command = [sys.executable, "manage.py", "import_posts", str(source), "--batch-size", "200"]
    command += ["--rejects", str(tmp_path / "r.jsonl")]
    # Its own process group, so the kill takes its worker processes too.
    process = subprocess.Popen(
        command, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while Post.objects.count() < 200 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the import finished before it could be killed; make the input larger"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed = ImportRun.objects.get()
    assert (killed.status, killed.pid, killed.host) == (ImportRun.Status.RUNNING, process.pid, importruns.this_host())

    call_command("import_posts", str(SAMPLE_JSONL), "--rejects", str(tmp_path / "r2.jsonl"), "--workers", "1")
    killed.refresh_from_db()
    assert killed.status == ImportRun.Status.FAILED
    assert f"pid {process.pid}" in killed.error
    latest = ImportRun.objects.latest("started_at")
    assert (latest.status, latest.pid) == (ImportRun.Status.FINISHED, os.getpid())
