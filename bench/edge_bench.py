"""Edge benchmark: Varnish (deploy/varnish/alphanode.vcl) in front of alphanode, measured in one run.

    make deps-bench                          # Debian's varnish, varnish-modules, wrk, nginx
    .venv/bin/python bench/edge_bench.py     # SQLite database and page store (embedded default)
    .venv/bin/python bench/edge_bench.py --posts 2000 --edits 100 --seconds 8

Imports the sample plus --posts generated posts into a scratch SQLite database,
serves them with gunicorn (2 sync workers) behind one varnishd, and prints:
(1) requests/s for the article cached at the edge against nginx serving the
same bytes as a static file (wrk -t2 -c16, with and without gzip) and the ratio;
(2) the time from an editor's save (services write, commit, purge of the store
and the edge) to the edge serving the new title, p50/p99 over --edits edits;
(3) the share of the edge's cached pages one typical edit evicts, against a
purge of everything. Traffic goes to 127.0.0.1 only. Other load on the machine
shows in the latencies: compare runs on a quiet machine.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pagecache_bench import load, manage, serve  # noqa: E402
from tests.gunicorn_server import free_port, get  # noqa: E402
from tests.varnish_server import start_varnish  # noqa: E402

SLUG = "building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services"
LINK = re.compile(r'href="(/[^"]*)"|<loc>https?://[^/<]+(/[^<]*)</loc>')
SKIPPED = ("/static/", "/admin/", "/search/", "/ops/", "/health", "/metrics")


def start_nginx(tmp: str, body: bytes, gzipped: bytes) -> tuple[int, int]:
    """nginx serving `body` (and its .gz for gzip clients) as a static file; returns (port, pid)."""
    root = Path(tmp, "www")
    root.mkdir()
    (root / "article.html").write_bytes(body)
    (root / "article.html.gz").write_bytes(gzipped)
    port = free_port()
    conf = Path(tmp, "nginx.conf")
    conf.write_text(
        f"user root; worker_processes 2; pid {tmp}/nginx.pid; error_log {tmp}/nginx.err;\n"
        "events { worker_connections 1024; }\n"
        "http { access_log off; sendfile on; tcp_nopush on; gzip_static on; default_type text/html;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n"
    )
    subprocess.run(["nginx", "-c", str(conf), "-p", tmp], check=True)
    time.sleep(0.5)
    return port, int(Path(tmp, "nginx.pid").read_text())


def wrk(url: str, seconds: int, gzip: bool) -> float:
    headers = ["-H", "Accept-Encoding: gzip"] if gzip else []
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", *headers, url], capture_output=True, text=True, check=True
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def crawl(port: int) -> list[str]:
    """Every reader page reachable from the home page and the sitemap, fetched (so cached) through the edge."""
    seen, frontier = set(), ["/", "/sitemap.xml", "/feeds/rss/"]
    with ThreadPoolExecutor(4) as pool:
        while frontier:
            seen.update(frontier)
            found = set()
            for status, _, body in pool.map(lambda path: get(port, path, timeout=60), frontier):
                if status == 200:
                    for match in LINK.finditer(body.decode(errors="replace")):
                        path = (match[1] or match[2]).replace("&amp;", "&")
                        if not path.startswith(SKIPPED):
                            found.add(path)
            frontier = sorted(found - seen)
    return sorted(seen)


def misses(port: int, paths: list[str]) -> int:
    with ThreadPoolExecutor(4) as pool:
        states = pool.map(lambda path: get(port, path, timeout=60)[1].get("x-edge-cache"), paths)
        return sum(state == "MISS" for state in states)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--posts", type=int, default=1000, help="generated posts beside the sample")
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--sweeps", type=int, default=10, help="edits whose evictions are counted")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ALPHANODE_VAR_DIR": tmp, "STATIC_ROOT": f"{tmp}/static", "DEBUG": "0",
               "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "PAGECACHE_PATH": f"{tmp}/pages.sqlite3",
               "CACHE_KEY_PREFIX": f"edge-bench-{os.getpid()}", "SITE_URL": "http://127.0.0.1",
               "ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
        env.pop("REDIS_URL", None)
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "generate_posts", "--count", str(args.posts), "--seed", "5", "--output", f"{tmp}/posts.jsonl")
        manage(env, "import_posts", f"{tmp}/posts.jsonl", str(ROOT / "tests/fixtures/seed-4577.json"),
               "--rejects", f"{tmp}/rejects.jsonl")  # fmt: skip
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")

        app_port = free_port()
        app = serve(env, app_port)
        edge = start_varnish(Path(tmp, "edge"), [app_port])
        nginx_pid = None
        try:
            article = f"/posts/{SLUG}/"
            _, _, body = edge.get(article)
            _, headers, gzipped = edge.get(article, {"Accept-Encoding": "gzip"})
            assert headers["x-edge-cache"] == "HIT" and headers["content-encoding"] == "gzip"
            nginx_port, nginx_pid = start_nginx(tmp, body, gzipped)
            rates = {}
            for gzip in (True, False):
                rates[("edge", gzip)] = wrk(f"http://127.0.0.1:{edge.port}{article}", args.seconds, gzip)
                rates[("nginx", gzip)] = wrk(f"http://127.0.0.1:{nginx_port}/article.html", args.seconds, gzip)
            os.kill(nginx_pid, 15)
            nginx_pid = None
            gunicorn_rate = load(f"http://127.0.0.1:{app_port}{article}", args.seconds)[0]

            # Editors save in this process, as the admin would: the purge goes to the store and the edge.
            os.environ.update({**env, "EDGE_PURGE_URLS": edge.purge_url})
            os.environ["DJANGO_SETTINGS_MODULE"] = "alphanode.settings"
            import django

            django.setup()
            from posts.models import Post
            from tests.factories import edit_post

            posts = list(Post.objects.published().order_by("?")[: args.edits])
            for post in posts:  # cached at the edge before its edit
                edge.get(post.get_absolute_url())
            delays, saves = [], []
            for n, post in enumerate(posts):
                title = f"Edited title {n} {time.time()}"
                started = time.perf_counter()
                edit_post(post, title=title)  # returns after the commit and the purges
                saves.append((time.perf_counter() - started) * 1000)
                while title.encode() not in edge.get(post.get_absolute_url())[2]:
                    time.sleep(0.002)
                delays.append((time.perf_counter() - started) * 1000)

            paths = crawl(edge.port)
            cached = len(paths) - misses(edge.port, paths)  # a second pass: what the edge holds now
            evicted = []
            for post in Post.objects.published().order_by("?")[: args.sweeps]:
                edit_post(post, title=f"{post.title} (edited)")
                time.sleep(2.5)  # the settle pass (EDGE_SETTLE_SECONDS) evicts nothing more
                evicted.append(misses(edge.port, paths))
            from alphanode.pagecache.purge import purge

            purge(everything=True, reason="edge bench baseline")
            sample = paths[:: max(1, len(paths) // 200)]
            everything_share = misses(edge.port, sample) / len(sample)
        finally:
            if nginx_pid:
                os.kill(nginx_pid, 15)
            edge.stop()
            app.terminate()
            app.wait()

    delays.sort()
    saves.sort()
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    save_p99 = saves[min(len(saves) - 1, int(len(saves) * 0.99))]
    print(f"article {len(body)} bytes ({len(gzipped)} gzipped); wrk -t2 -c16 -d{args.seconds}s; {args.posts + 1} posts")
    for gzip in (True, False):
        label = "gzip clients   " if gzip else "no-gzip clients"
        edge_rate, nginx_rate = rates[("edge", gzip)], rates[("nginx", gzip)]
        print(f"{label} edge {edge_rate:8.0f} req/s  nginx static {nginx_rate:8.0f} req/s  "
              f"ratio {edge_rate / nginx_rate:.2f}")  # fmt: skip
    print(f"gunicorn (app's page cache, no edge) {gunicorn_rate:.0f} req/s")
    print(f"save -> fresh at the edge over {len(delays)} edits: p50 {statistics.median(delays):.1f} ms, "
          f"p99 {p99:.1f} ms, max {delays[-1]:.1f} ms (the save alone: p50 {statistics.median(saves):.1f} ms, "
          f"p99 {save_p99:.1f} ms)")  # fmt: skip
    mean = statistics.mean(evicted)
    print(f"edge held {cached} of {len(paths)} crawled pages; one edit evicted {min(evicted)}-{max(evicted)} "
          f"(mean {mean:.1f}, {mean / cached:.2%}); purge everything: {everything_share:.0%} (sampled)")  # fmt: skip


if __name__ == "__main__":
    main()
