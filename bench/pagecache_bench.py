"""Page-cache benchmark: cached article vs uncached render vs a static file of the same size.

    python bench/pagecache_bench.py                    # embedded default (SQLite page store)
    REDIS_URL=redis://127.0.0.1:6379/0 python bench/pagecache_bench.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/pagecache_bench.py
    python bench/pagecache_bench.py --baseline /work/main --rounds 3 --seconds 5   # before/after


Imports the sample (plus --posts generated posts) into a scratch database,
serves the site with gunicorn (2 sync workers, as in production), and loads
it with wrk (or a Python load generator when wrk is missing) on 127.0.0.1.
Prints requests/s and p50/p99 latency for (a) the cached article, (b) the
article rendered on every request (page cache off), (c) a static file of
the article's size served by whitenoise from the same gunicorn, and the
ratios (a)/(c) and (b)/(c), all measured in this one run.

The machine is shared, so absolute rates drift: --rounds repeats the
measurements interleaved (static, uncached, baseline uncached, cached, ...)
and prints each round's ratios and their median. --baseline PATH serves the
uncached article from another checkout (its own scratch database, same
generated posts) in the same rounds, for a before/after in one run. Every
uncached request is checked to be an X-Cache MISS/BYPASS, never a HIT.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str, root: Path = ROOT) -> None:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode:
        # The output is captured to keep the table readable; on failure it is the only clue.
        sys.exit(f"manage.py {' '.join(args)} failed in {root} (exit {done.returncode}):\n{done.stderr[-4000:]}")


def scratch_database(env: dict, suffix: str = "") -> str | None:
    """A fresh database: a temporary SQLite file, or a scratch PostgreSQL database named after DATABASE_URL's."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{env['ALPHANODE_VAR_DIR']}/bench{suffix}.sqlite3"
        return None
    import psycopg

    name = f"{urlparse(url).path.lstrip('/') or 'alphanode'}_cache_bench{suffix}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    env["DATABASE_URL"] = urlunparse(urlparse(url)._replace(path=f"/{name}"))
    return name


def serve(env: dict, port: int, root: Path = ROOT) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "alphanode.wsgi", "--config", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", "/dev/null"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def load(url: str, seconds: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) for `url`."""
    if shutil.which("wrk"):
        out = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True
        ).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        return rate, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")
    return _python_load(url, seconds)


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _python_load(url: str, seconds: int) -> tuple[float, float, float]:
    timings, stop = [], time.monotonic() + seconds
    parts = urlparse(url)

    def worker():
        import http.client

        connection = http.client.HTTPConnection(parts.hostname, parts.port)
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection.request("GET", parts.path)
            connection.getresponse().read()
            timings.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.sort()
    return len(timings) / seconds, timings[len(timings) // 2], timings[int(len(timings) * 0.99)]


SLUG = "building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services"


def set_up_site(env: dict, root: Path, posts_file: str, tmp: str) -> None:
    manage(env, "migrate", "--verbosity", "0", root=root)
    manage(env, "import_posts", posts_file, str(root / "tests/fixtures/seed-4577.json"),
           "--rejects", f"{tmp}/rejects.jsonl", root=root)  # fmt: skip
    if env["DATABASE_URL"].startswith("postgres"):
        # Fresh planner statistics for both sites: import_posts analyzes now, a baseline from
        # before it did not, and would be measured on plans for empty tables.
        import psycopg

        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
            connection.execute("ANALYZE")


def measure(env: dict, root: Path, port: int, url: str, seconds: int, *, uncached: bool):
    server = serve(env, port, root)
    try:
        for _ in range(20):  # warm: fill the page cache and each worker's copy
            with urllib.request.urlopen(url) as response:  # noqa: S310
                response.read()
                cache = response.headers.get("X-Cache", "")
        if uncached and cache == "HIT":
            raise SystemExit(f"{url} came from the page cache (X-Cache: HIT) while measuring renders")
        return load(url, seconds)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--posts", type=int, default=2000, help="generated posts beside the sample")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repetitions; the median ratio counts")
    parser.add_argument("--baseline", type=Path, help="another checkout whose uncached article to measure too")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ALPHANODE_VAR_DIR": tmp, "STATIC_ROOT": f"{tmp}/static", "DEBUG": "0",
               "PAGECACHE_PATH": f"{tmp}/pages.sqlite3", "CACHE_KEY_PREFIX": f"bench-{os.getpid()}"}  # fmt: skip
        posts_file = f"{tmp}/posts.jsonl"
        manage(env, "generate_posts", "--count", str(args.posts), "--seed", "5", "--output", posts_file)
        scratches = [scratch_database(env)]
        set_up_site(env, ROOT, posts_file, tmp)
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        sites = {"uncached render": (env, ROOT)}
        if args.baseline:
            base_env = {
                **env,
                "ALPHANODE_VAR_DIR": f"{tmp}/baseline",
                "PAGECACHE_PATH": f"{tmp}/baseline-pages.sqlite3",
            }
            Path(base_env["ALPHANODE_VAR_DIR"]).mkdir()
            scratches.append(scratch_database(base_env, "_baseline"))
            set_up_site(base_env, args.baseline.resolve(), posts_file, tmp)
            sites["baseline uncached"] = (base_env, args.baseline.resolve())

        port = free_port()
        article = f"http://127.0.0.1:{port}/posts/{SLUG}/"
        server = serve(env, port)
        try:
            size = len(urllib.request.urlopen(article).read())
        finally:
            server.terminate()
            server.wait()
        # whitenoise scans STATIC_ROOT at start-up: add the same-size file first.
        Path(f"{tmp}/static/bench").mkdir()
        Path(f"{tmp}/static/bench/article-size.html").write_bytes(b"x" * size)
        static_url = f"http://127.0.0.1:{port}/static/bench/article-size.html"

        rounds = []
        for _ in range(args.rounds):
            results = {"static file": measure(env, ROOT, port, static_url, args.seconds, uncached=False)}
            for label, (site_env, root) in sites.items():
                results[label] = measure(
                    {**site_env, "PAGECACHE_ENABLED": "0"}, root, port, article, args.seconds, uncached=True
                )
            results["cached article"] = measure(env, ROOT, port, article, args.seconds, uncached=False)
            rounds.append(results)

    if scratches[0]:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as admin:
            for scratch in filter(None, scratches):
                admin.execute(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")

    store = "Redis" if os.environ.get("REDIS_URL") else "SQLite file (embedded default)"
    database = "PostgreSQL" if scratches[0] else "SQLite"
    print(f"page store: {store}; database: {database}; article {size} bytes; {args.seconds} s per run")
    ratios = {label: [] for label in rounds[0] if label != "static file"}
    for number, results in enumerate(rounds, 1):
        print(f"round {number}")
        static = results["static file"][0]
        for label, (rate, p50, p99) in results.items():
            print(
                f"  {label:18} {rate:9.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   /static {rate / static:.3f}"
            )
            if label in ratios:
                ratios[label].append(rate / static)
    for label, values in ratios.items():
        print(f"ratio {label}/static: median {statistics.median(values):.3f} of {len(values)} round(s)")


if __name__ == "__main__":
    main()
