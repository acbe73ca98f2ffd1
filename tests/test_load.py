"""Load: mixed traffic on gunicorn while an import and a stream of admin edits run (PostgreSQL + Redis).

For LOAD_TEST_SECONDS (default 60) and until the import has finished, a
separate process (tests/load_traffic.py) sends GETs to 127.0.0.1: 90% to
pages already in the page cache, 10% to searches and pages nobody asked for
yet. Meanwhile `import_posts` loads LOAD_TEST_IMPORT new posts (default
10,000) and an editor saves posts through the admin one after another. No
response may be a 5xx, the import must store every record, and after each
save every worker must serve the edited article fresh within 1 s of the
commit. Requests/s and p99 are printed (pytest -s).

The default was 300 s: five of the 27 minutes .ci/run took, for the same
checks on more of the same traffic. A longer soak is a run by hand:
LOAD_TEST_SECONDS=1800 pytest tests/test_load.py -s.
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from posts.generating import generate_lines
from posts.importing import import_records
from posts.models import Post
from tests.conftest import ROOT, subprocess_env
from tests.factories import changeform_data, make_user
from tests.gunicorn_server import get, start_gunicorn

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql" or settings.PAGECACHE["BACKEND"] != "redis",
        reason="load is only meaningful on the production setup: runs in the PostgreSQL and Redis pass of .ci/run",
    ),
]

SECONDS = float(os.environ.get("LOAD_TEST_SECONDS", "60"))
IMPORT_COUNT = int(os.environ.get("LOAD_TEST_IMPORT", "10000"))
FRESH_WITHIN = 1.0
# Requests on new connections after FRESH_WITHIN: gunicorn hands them to whichever worker is free.
CHECKS_AFTER = 6


@pytest.fixture
def site(transactional_db, collected_static, tmp_path):
    source = tmp_path / "seed.jsonl"
    source.write_bytes(b"".join(generate_lines(300, seed=21)))
    import_records([str(source)], reject_path=tmp_path / "seed-rejects.jsonl")
    env = subprocess_env(SECRET_KEY="load-test-only-key", DEBUG="0", ALLOWED_HOSTS="127.0.0.1",
                         STATIC_ROOT=str(collected_static), GUNICORN_ACCESS_LOG="", LOG_LEVEL="WARNING")  # fmt: skip
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    yield server
    server.stop()


def traffic_plan(posts: list[Post]) -> dict:
    articles = [post.get_absolute_url() for post in posts]
    first = posts[0]
    stack = first.stack_items.select_related("tag").first().tag.slug
    tool = first.tool_items.select_related("tag").first().tag.slug
    cached = [*articles, "/", "/?page=2", f"/stack/{stack}/", f"/tools/{tool}/", "/feeds/rss/", "/sitemap.xml"]
    uncached = ["/search/?q=deployment+{n}", "/search/?q=cache+{n}", "/search/?q=python", "/no-such-page-{n}/"]
    return {"cached": cached, "uncached": uncached}


def warm(server, paths: list[str]) -> None:
    for path in paths:
        for _ in range(2):  # both workers' copies, or at least the shared store
            status, _, _ = server.get(path)
            assert status == 200, path


def edit_and_time(client: Client, server, post: Post, number: int) -> tuple[float, list[tuple[float, bool]]]:
    """Save a new title through the admin; return the seconds until fresh, and every check (age, fresh)."""
    url = reverse("admin:posts_post_change", args=[post.pk])
    form = client.get(url)
    marker = f"edited-{number}-{uuid.uuid4().hex[:8]}"
    saved = client.post(url, changeform_data(form, title=f"{post.title[:200]} {marker}"))
    assert saved.status_code == 302, saved.content[:500]
    committed = time.monotonic()
    article = post.get_absolute_url()
    checks, fresh_at = [], None
    while True:
        age = time.monotonic() - committed
        status, _, body = server.get(article)
        assert status == 200, (article, status)
        fresh = marker.encode() in body
        checks.append((age, fresh))
        if fresh and fresh_at is None:
            fresh_at = age
        if age >= FRESH_WITHIN and sum(1 for a, _ in checks if a >= FRESH_WITHIN) >= CHECKS_AFTER:
            return fresh_at, checks
        time.sleep(0.02 if fresh_at is None else 0.1)


def test_mixed_traffic_during_an_import_and_admin_edits(site, tmp_path):
    posts = list(Post.objects.order_by("pk")[:200])
    plan = traffic_plan(posts)
    warm(site, plan["cached"])
    (tmp_path / "plan.json").write_text(json.dumps(plan))

    source = tmp_path / "import.jsonl"
    source.write_bytes(b"".join(generate_lines(IMPORT_COUNT, seed=22)))
    importer = subprocess.Popen(
        [sys.executable, "manage.py", "import_posts", str(source), "--rejects", str(tmp_path / "rejects.jsonl")],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stop = tmp_path / "stop"
    traffic = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.load_traffic",
            str(site.port),
            str(SECONDS),
            str(tmp_path / "plan.json"),
            str(stop),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    editor = Client()
    editor.force_login(make_user("load-editor", is_superuser=True))
    # Edits go on for the whole run; the traffic keeps going until the import has finished too.
    started, edits, slowest, stale_after = time.monotonic(), 0, 0.0, []
    while time.monotonic() - started < SECONDS or importer.poll() is None:
        post = posts[edits % len(posts)]
        fresh_at, checks = edit_and_time(editor, site, post, edits)
        edits += 1
        slowest = max(slowest, fresh_at if fresh_at is not None else float("inf"))
        stale_after += [(post.pk, round(age, 2)) for age, fresh in checks if age >= FRESH_WITHIN and not fresh]
    stop.touch()
    imported_out, imported_err = importer.communicate(timeout=60)
    out, err = traffic.communicate(timeout=120)
    assert traffic.returncode == 0, err.decode()[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])

    assert importer.returncode == 0, imported_err.decode()[-2000:]
    assert imported_out.decode().strip().splitlines()[-1].startswith(f"created {IMPORT_COUNT}, updated 0, ")
    assert Post.objects.count() == 300 + IMPORT_COUNT
    assert stale_after == [], f"stale pages more than {FRESH_WITHIN} s after the commit: {stale_after[:10]}"
    assert slowest < FRESH_WITHIN
    fivexx = {status: count for status, count in summary["statuses"].items() if status.startswith("5")}
    assert fivexx == {}, summary["failures"][:20]
    assert not summary["failures"], summary["failures"][:20]
    print(
        f"\nload: {summary['requests']} requests in {summary['seconds']} s ({summary['per_second']} requests/s), "
        f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, statuses {summary['statuses']}; "
        f"{edits} admin edits, slowest fresh after {slowest * 1000:.0f} ms; imported {IMPORT_COUNT} posts"
    )
    assert get(site.port, "/health")[0] == 200
