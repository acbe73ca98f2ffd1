"""Review decisions at scale: "Approve and next" (the decision, then the next post's review page).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch db> python bench/review_next.py --posts 100000

Migrates the scratch database and fills it up to --posts generated posts
(generate_posts + import_posts), then, as a superuser `bench-reviewer`
(created if missing), opens a queued post's review page, approves it with
"Approve and next" and opens the page it lands on, --rounds times, through
Django's test client (server time only: no network, no browser). Prints the
median and worst time of the decision (POST until its redirect), of the next
page (GET), of both together, and their ratio to the queue's first page
measured in the same run. Target: decision + next page under 300 ms at
100,000 posts on PostgreSQL.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from posts.models import Post  # noqa: E402

QUEUE = "/admin/posts/reviewqueue/"


def fill(posts: int) -> None:
    missing = posts - Post.objects.count()
    if missing <= 0:
        return
    with tempfile.TemporaryDirectory() as folder:
        records = Path(folder) / "posts.jsonl"
        call_command("generate_posts", count=missing, seed=10, output=str(records), verbosity=0)
        call_command("import_posts", str(records), rejects=Path(folder) / "rejects.jsonl", verbosity=0)


def timed(method, *args) -> tuple[float, object, int]:
    """(milliseconds, response, SQL queries) of one request."""
    reset_queries()
    started = time.perf_counter()
    result = method(*args)
    return (time.perf_counter() - started) * 1000, result, len(connection.queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    fill(args.posts)
    setup_test_environment()
    settings.DEBUG = True  # count queries
    user, _ = get_user_model().objects.get_or_create(
        username="bench-reviewer", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    print(f"{Post.objects.count()} posts, {Post.objects.flagged().count()} in the queue, on {connection.vendor}")
    queue = [timed(client.get, QUEUE)[0] for _ in range(5)]
    first = Post.objects.flagged().order_by("-view_count", "id").first()
    url = f"{QUEUE}{first.pk}/change/"
    client.get(url)  # warm up
    decisions, nexts, queries = [], [], []
    for _ in range(args.rounds):
        lock_version = Post.objects.get(pk=int(url.rstrip("/").split("/")[-2])).lock_version
        data = {"decision": "approve_next", "lock_version": lock_version}
        spent, response, count = timed(client.post, url, data)
        assert response.status_code == 302, response.status_code
        url = response["Location"]
        assert url.startswith(QUEUE) and url != QUEUE, url
        decisions.append(spent)
        spent_next, page, count_next = timed(client.get, url)
        assert page.status_code == 200
        nexts.append(spent_next)
        queries.append((count, count_next))
    both = [a + b for a, b in zip(decisions, nexts, strict=True)]
    baseline = statistics.median(queue)
    for name, values in (("decision (POST)", decisions), ("next page (GET)", nexts), ("decision + next", both)):
        median = statistics.median(values)
        print(
            f"{name:18} median {median:6.0f} ms  worst {max(values):6.0f} ms  ({median / baseline:.2f}x the queue page)"
        )
    print(f"queue page         median {baseline:6.0f} ms  (baseline)")
    print(f"queries per round: decision {queries[-1][0]}, next page {queries[-1][1]}")


if __name__ == "__main__":
    main()
