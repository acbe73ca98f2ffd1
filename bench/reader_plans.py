"""Reader pages at scale: SQL queries, time per page, and the query plans behind them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alphanode python bench/reader_plans.py [--explain]

Run it against a database holding many posts (a million is the target). For
each reader page it prints the number of SQL queries and the median time of
five in-process requests (Django's test client: no network, the page cache
off). Every timed request must be a render: a page served from a cache
(X-Cache HIT) or with no SQL query stops the run with an error. With --explain
it also prints EXPLAIN (ANALYZE, BUFFERS) of the queries that must not read
every post: similar posts, search, a tag listing page, a deep home page, the
sitemap index and its last page.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["PAGECACHE_ENABLED"] = "0"  # renders are measured here, not the page cache

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from posts import search, sitemaps  # noqa: E402
from posts.models import Post  # noqa: E402
from posts.querysets import similar_posts_sql  # noqa: E402


def measure(client: Client, path: str) -> tuple[int, int, float]:
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
        if response.get("X-Cache") == "HIT" or not queries:
            raise SystemExit(f"{path}: served from a cache (X-Cache {response.get('X-Cache')}), not rendered")
    return response.status_code, len(queries), statistics.median(times) * 1000


def explain(title: str, sql: str, params) -> None:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(f"\n== {title}\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--explain", action="store_true", help="print the query plans too")
    options = parser.parse_args()
    setup_test_environment()
    plain_static = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain_static):
        run(options)


def run(options) -> None:
    post = Post.objects.published().with_record_parts().order_by("-id").first()
    tag = post.stack_items.all()[0].tag
    entity = post.entity_links.all()[0].entity
    print(f"{Post.objects.count()} posts; article {post.slug} ({connection.vendor})")
    client = Client()
    pages = [
        post.get_absolute_url(),
        "/",
        "/?page=250",
        f"/stack/{tag.slug}/",
        f"/stack/{tag.slug}/?page=250",
        entity.get_absolute_url(),
        f"/topics/{post.topic_slug}/",
        "/search/?q=zanzibar",
        "/search/?q=asyncio.gather",
        "/search/?q=kubectl",
        "/search/?q=python",
        "/search/?q=python&page=20",
        "/feeds/rss/",
        f"/stack/{tag.slug}/atom/",
        "/sitemap.xml",
    ]
    last_sitemap_page = sitemaps.filled_pages()[-1][0]
    pages.append(f"/sitemap-posts.xml?p={last_sitemap_page}")
    print(f"{'page':60} status queries  median ms")
    for path in pages:
        status, queries, ms = measure(client, path)
        print(f"{path[:60]:60} {status:6} {queries:7} {ms:10.1f}")
    if not options.explain:
        return
    tag_ids = sorted({item.tag_id for item in (*post.stack_items.all(), *post.tool_items.all())})
    entity_ids = sorted({link.entity_id for link in post.entity_links.all()})
    sql, params = similar_posts_sql(tag_ids, entity_ids, post_id=post.pk, limit=5, per_key=100)
    explain("similar posts", sql, params)
    for word in ("zanzibar", "asyncio.gather", "python"):
        params = {
            "query": search.rewrite_identifiers(word),
            "candidates": search.CANDIDATES,
            "limit": 21,
            "offset": 0,
        }
        explain(f"search {word!r}", search._POSTGRESQL_SQL, params)
    listing = Post.objects.in_stack(tag).for_listing()[4980:5001]
    explain(f"stack {tag.slug} page 250", *listing.query.sql_with_params())
    entity_page = Post.objects.naming(entity).for_listing()[:21]
    explain(f"entity {entity.slug} page 1", *entity_page.query.sql_with_params())
    topic_page = Post.objects.in_topic(post.topic_slug).for_listing()[:21]
    explain(f"topic {post.topic_slug} page 1", *topic_page.query.sql_with_params())
    home = Post.objects.latest_published().for_listing()[4980:5001]
    explain("home page 250", *home.query.sql_with_params())
    explain("sitemap index: every page and its lastmod", *sitemaps.filled_pages_sql())
    page = Post.objects.in_sitemap_page(last_sitemap_page).values_list("slug", "updated_at")
    explain("sitemap: the last page", *page.query.sql_with_params())


if __name__ == "__main__":
    main()
