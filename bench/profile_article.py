"""Profile the uncached article in one process: time per request, queries, and the top of cProfile.

    PAGECACHE_ENABLED=0 python bench/profile_article.py [--slug SLUG] [--requests 300] [--top 25]

Runs against the configured database (DATABASE_URL or the SQLite default)
through Django's WSGI handler, with the page cache off, so every request
renders. Prints ms per request, queries per request and the functions with
the most cumulative and own time.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")
os.environ["PAGECACHE_ENABLED"] = "0"
os.environ.setdefault("LOG_LEVEL", "WARNING")

SAMPLE = "building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slug", default=SAMPLE)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    path = f"/posts/{args.slug}/"
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200 and response.get("X-Cache") != "HIT", response.get("X-Cache")
    # Counted now: the captured list is a slice of connection.queries, which the next request resets.
    query_count = len(queries)
    assert query_count, "the article ran no query: it came from a cache, not a render"
    started = time.perf_counter()
    for _ in range(args.requests):
        client.get(path)
    per_request = (time.perf_counter() - started) * 1000 / args.requests
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.requests):
        client.get(path)
    profile.disable()
    print(f"{connection.vendor}: {per_request:.2f} ms per uncached article, {query_count} queries")
    stats = pstats.Stats(profile).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
