"""One benchmark table: uncached server time of every kind of page at N posts and at 10,000, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alphanode python bench/run_all.py            # 1,000,000
    DATABASE_URL=... python bench/run_all.py --posts 100000                                     # by hand, shorter
    DATABASE_URL=... python bench/run_all.py --small                                            # CI: 10,000 only

For each size it makes a scratch database named after DATABASE_URL's
(`<name>_runall_<size>`, dropped first), generates the posts with
generate_posts (about a third flagged for review), imports them with
import_posts (its progress bar), and measures, in one process through
Django's WSGI handler with the page cache off, the server time of
--requests uncached requests per page: p50 and p99. Every timed request is
checked: status 200, X-Cache not HIT and at least one SQL query (a render,
not the cache), or the run stops with an error.

For each page it also EXPLAINs every SELECT the page ran: a sequential scan
of a large table (posts, revisions, tag and entity links, image sources)
fails the row, whether the planner chose it (tables of 100,000+ rows) or it
is the only plan left with enable_seqscan off (a missing index, at any size).
It prints per page the big figure, the 10k figure, their ratio (target <= 3)
and PASS/FAIL; then the import figures (records/s, import/COPY, peak memory)
and, unless --small, the page-cache figures of bench/pagecache_bench.py.
Exit status 1 when any row fails. docs/benchmarks.md has a real run.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
SMALL = 10_000
RATIO_TARGET = 3.0
# Tables that grow with the number of posts; a sequential scan of one is a plan regression.
BIG_TABLES = {
    "posts_post",
    "posts_revision",
    "posts_stacktag",
    "posts_tooltag",
    "posts_postentity",
    "posts_imagesource",
}
# Timed requests per page stop after PAGE_SECONDS once MIN_REQUESTS are done (a 50,000-URL
# sitemap page takes seconds); the table prints how many requests each row had.
PAGE_SECONDS = 150
MIN_REQUESTS = 30
# The planner may rightly scan a small table; at this many rows it must not.
PLANNER_SEQ_SCAN_ROWS = 100_000


# -- the parent: databases, generate, import, report ---------------------------------------------


def scratch_url(base_url: str, size: int) -> str:
    parts = urlparse(base_url)
    name = f"{parts.path.lstrip('/') or 'alphanode'}_runall_{size}"
    return urlunparse(parts._replace(path=f"/{name}"))


def maintenance_url(base_url: str) -> str:
    """The server's `postgres` database: DATABASE_URL's own may not exist (pytest works in test_<name>)."""
    return urlparse(base_url)._replace(path="/postgres").geturl()


def recreate(base_url: str, url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(maintenance_url(base_url), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def manage(env: dict, *args: str, quiet: bool = True) -> None:
    output = subprocess.DEVNULL if quiet else None
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=output)


def build_site(base_url: str, size: int, tmp: Path, *, copy: bool) -> dict:
    """A scratch database holding `size` imported posts; returns the import figures."""
    url = scratch_url(base_url, size)
    print(f"\n== {size:,} posts: {urlparse(url).path.lstrip('/')}", flush=True)
    recreate(base_url, url)
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)  # the import and the renders measured here do not use the cache
    manage(env, "migrate", "--verbosity", "0")
    source = tmp / f"posts-{size}.jsonl"
    print(f"generating {size:,} records ...", flush=True)
    manage(env, "generate_posts", "--count", str(size), "--seed", "1", "--output", str(source))
    print(f"importing {size:,} records ...", flush=True)
    sys.path.insert(0, str(ROOT / "bench"))
    from import_bench import copy_floor, settle

    settle(url)  # as import_bench does: the COPY floor starts from a checkpoint too
    started = time.perf_counter()
    manage(env, "import_posts", str(source), "--rejects", str(tmp / "rejects.jsonl"), quiet=False)
    seconds = time.perf_counter() - started
    # The largest single process so far (the import or one of its workers), in KiB.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    source.unlink()
    figures = {"records": size, "seconds": seconds, "rate": size / seconds, "peak_mb": peak_mb}
    if copy:
        print("COPY floor: dumping and loading the same rows with COPY ...", flush=True)
        _, copy_seconds = copy_floor(url, tmp)
        figures["copy_seconds"] = copy_seconds
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"url": url, "import": figures}


def measure_site(url: str, requests: int) -> list[dict]:
    env = {**os.environ, "DATABASE_URL": url, "PAGECACHE_ENABLED": "0", "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, __file__, "--measure", "--requests", str(requests), "--output", out.name],
            cwd=ROOT,
            env=env,
            check=True,
        )
        return json.loads(Path(out.name).read_text())


def cache_figures(base_url: str) -> str:
    # pagecache_bench makes its scratch databases from the one it is given: the server's own.
    result = subprocess.run(
        [sys.executable, "bench/pagecache_bench.py", "--seconds", "5"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": maintenance_url(base_url)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def report(rows_by_size: dict[int, list[dict]], imports: dict[int, dict], big: int | None) -> bool:
    """Print the table; True when every row passes."""
    small_rows = {row["page"]: row for row in rows_by_size[SMALL]}
    big_rows = {row["page"]: row for row in rows_by_size[big]} if big else {}
    big_label = f"{big:,}" if big else "-"
    print(
        f"\n{'page':34} {big_label + ' p50/p99 ms':>20} {'10,000 p50/p99 ms':>20} {'ratio':>6}"
        "  seq scan  result  requests"
    )
    ok = True
    for page, small in small_rows.items():
        large = big_rows.get(page)
        ratio = large["p50"] / small["p50"] if large else None
        seq = sorted(set(small["seq_scans"]) | set(large["seq_scans"] if large else []))
        passed = not seq and (ratio is None or ratio <= RATIO_TARGET)
        ok &= passed
        big_text = f"{large['p50']:.1f} / {large['p99']:.1f}" if large else "-"
        print(
            f"{page:34} {big_text:>20} {small['p50']:>9.1f} / {small['p99']:<8.1f} "
            f"{(f'{ratio:.2f}' if ratio else '-'):>6}  {', '.join(seq) or 'no':8}  {'PASS' if passed else 'FAIL'}    "
            f"{large['requests'] if large else '-'}/{small['requests']}"
        )
    print("\nimport (generate_posts output, import_posts with default workers and batch size):")
    for size, figures in imports.items():
        line = f"  {size:>9,} records: {figures['seconds']:.0f} s, {figures['rate']:.0f} records/s, "
        line += f"peak memory {figures['peak_mb']:.0f} MB"
        if "copy_seconds" in figures:
            ratio = figures["seconds"] / figures["copy_seconds"]
            line += f", COPY floor {figures['copy_seconds']:.1f} s, import/COPY {ratio:.2f}"
        print(line)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000, help="the big size (default 1,000,000)")
    parser.add_argument("--small", action="store_true", help="only 10,000 posts (CI): plan shape and checks")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--no-copy", action="store_true", help="skip the COPY floor of the big import")
    parser.add_argument("--no-cache", action="store_true", help="skip the page-cache figures")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        Path(args.output).write_text(json.dumps(measure_pages(args.requests)))
        return

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("bench/run_all.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    big = None if args.small else args.posts
    sizes = [size for size in (big, SMALL) if size]
    rows, imports, urls = {}, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            site = build_site(base_url, size, Path(tmp), copy=size == big and not args.no_copy)
            urls.append(site["url"])
            imports[size] = site["import"]
            print(f"measuring {args.requests} uncached requests per page ...", flush=True)
            rows[size] = measure_site(site["url"], args.requests)
    ok = report(rows, imports, big)
    if not args.small and not args.no_cache:
        print("\npage cache (bench/pagecache_bench.py, 2,000 posts, gunicorn 2 workers, wrk):")
        print(cache_figures(base_url))
    if not args.keep:
        import psycopg

        with psycopg.connect(maintenance_url(base_url), autocommit=True) as admin:
            for url in urls:
                admin.execute(f"DROP DATABASE IF EXISTS {urlparse(url).path.lstrip('/')} WITH (FORCE)")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


# -- the child: timed requests against one database ----------------------------------------------


def measure_pages(requests: int, page_seconds: float = PAGE_SECONDS) -> list[dict]:
    """Time every page (Django set up on the scratch database, page cache off)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.test import Client, override_settings
    from tqdm import tqdm

    from posts.models import Post, StackTag, ToolTag

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    reader, editor = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    editor.force_login(admin)

    published = Post.objects.published()
    slugs = list(published.order_by("-id").values_list("slug", flat=True)[:requests])
    tag = _biggest_tag(StackTag, ToolTag, Count)
    common, rare = _search_words(published)
    history = published.order_by("-id").values_list("pk", flat=True)[0]
    deep = min(250, max(1, published.count() // 20))
    pages = [
        ("article", reader, [f"/posts/{slug}/" for slug in slugs]),
        ("home page 1", reader, ["/"]),
        (f"home page {deep}", reader, [f"/?page={deep}"]),
        ("tag page (the biggest tag)", reader, [tag["path"]]),
        # The words differ between sizes; the row names must not (the table pairs rows by name).
        ("search, a common word", reader, [f"/search/?q={common}"]),
        ("search, a rare word", reader, [f"/search/?q={rare}"]),
        ("sitemap index", reader, ["/sitemap.xml"]),
        ("sitemap page 1", reader, ["/sitemap-posts.xml?p=1"]),
        ("sitemap of listing pages", reader, ["/sitemap-pages.xml"]),
        ("feed (RSS)", reader, ["/feeds/rss/"]),
        ("admin change list", editor, ["/admin/posts/post/"]),
        ("admin change list, flagged", editor, ["/admin/posts/post/?flag=needs_review"]),
        ("review queue", editor, ["/admin/posts/reviewqueue/"]),
        ("post history", editor, [f"/admin/posts/post/{history}/revisions/"]),
    ]
    plain_static = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    results = []
    with override_settings(STORAGES=plain_static):
        for name, client, paths in pages:
            queries = []

            def record(execute, sql, params, many, context, queries=queries):
                queries.append((sql, params))
                return execute(sql, params, many, context)

            _timed_get(client, paths[0], None)  # warm this page's code paths
            times, budget = [], time.monotonic() + page_seconds
            for number in tqdm(range(requests), desc=f"{name[:30]:30}", unit=" req", leave=False, file=sys.stderr):
                queries.clear()
                with connection.execute_wrapper(record):
                    times.append(_timed_get(client, paths[number % len(paths)], queries))
                # A slow page gets fewer requests (at least MIN_REQUESTS); the row says how many.
                if len(times) >= MIN_REQUESTS and time.monotonic() > budget:
                    break
            times.sort()
            results.append(
                {
                    "page": name,
                    "path": paths[0],
                    "requests": len(times),
                    "p50": statistics.median(times),
                    "p99": times[min(len(times) - 1, int(len(times) * 0.99))],
                    "queries": len(queries),
                    "seq_scans": _seq_scans(connection, queries),
                }
            )
            row = results[-1]
            print(f"{name:34} p50 {row['p50']:8.1f} ms  p99 {row['p99']:8.1f} ms  n={len(times)}", file=sys.stderr)
    return results


def _timed_get(client, path: str, queries: list | None) -> float:
    """Milliseconds for one GET; stops the run unless it was a 200 rendered with SQL queries (`queries`)."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path}: status {response.status_code}, expected 200")
    if response.get("X-Cache") == "HIT":
        raise SystemExit(f"{path}: X-Cache HIT: this would measure the page cache, not the render")
    if queries is not None and not queries:
        raise SystemExit(f"{path}: no SQL query: this would measure a cache, not the render")
    return elapsed


def _biggest_tag(stack_model, tools_model, count) -> dict:
    """The stack or tools tag carried by the most posts, with its listing path and share of posts."""
    from posts.models import Post

    best = None
    for model, prefix in ((stack_model, "stack"), (tools_model, "tools")):
        row = (
            model.objects.values("tag_id", "tag__slug")
            .annotate(posts=count("content_object_id"))
            .order_by("-posts")
            .first()
        )
        if row and (best is None or row["posts"] > best["posts"]):
            best = {**row, "path": f"/{prefix}/{row['tag__slug']}/"}
    best["share"] = best["posts"] / Post.objects.count()
    return best


def _search_words(posts) -> tuple[str, str]:
    """The most and the least frequent searchable title word among the newest 2,000 posts."""
    from collections import Counter

    from django.db import connection

    words = Counter(
        word
        for title in posts.order_by("-id").values_list("title", flat=True)[:2000]
        for word in {part.strip(".,:;!?()").lower() for part in title.split()}
        if len(word) >= 4 and word.isalpha()
    )
    ranked = [word for word, _ in words.most_common()]
    with connection.cursor() as cursor:
        # English stop words ("with", "from") are not searchable: their tsvector is empty.
        cursor.execute(
            "SELECT word FROM unnest(%s::text[]) AS word WHERE to_tsvector('english', word) <> ''::tsvector",
            [ranked],
        )
        searchable = {row[0] for row in cursor.fetchall()}
    ranked = [word for word in ranked if word in searchable]
    return ranked[0], ranked[-1]


def _seq_scans(connection, queries: list) -> list[str]:
    """Large tables some SELECT of the page reads with a sequential scan (see the module docstring)."""
    found = set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [sorted(BIG_TABLES)])
        rows = dict(cursor.fetchall())
        for sql, params in queries:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            for forced in (False, True):
                cursor.execute("SET enable_seqscan = %s" % ("off" if forced else "on"))
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                for table in _scanned(plan[0]["Plan"]):
                    if table in BIG_TABLES and (forced or rows.get(table, 0) >= PLANNER_SEQ_SCAN_ROWS):
                        found.add(table)
        cursor.execute("SET enable_seqscan = on")
    return sorted(found)


def _scanned(node: dict):
    if node.get("Node Type") == "Seq Scan":
        yield node.get("Relation Name")
    for child in node.get("Plans", []):
        yield from _scanned(child)


if __name__ == "__main__":
    main()
