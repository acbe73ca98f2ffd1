"""Import benchmark: `import_posts` against PostgreSQL's own COPY of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/import_bench.py --count 100000

Generates N records, imports them with `manage.py import_posts` into a fresh
scratch database, then dumps every table the import wrote, empties them and
loads the same rows back with COPY (the floor). Prints records/s, peak memory
of the import (main process and its workers) and import time / COPY time.
Target: ratio <= 1.5 and peak memory < 300 MB at 20,000 and 100,000 records.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
TABLES = [
    "posts_post",
    "taggit_tag",
    "posts_entity",
    "posts_stacktag",
    "posts_tooltag",
    "posts_postentity",
    "posts_imagesource",
    "posts_revision",
]


def scratch_url(base_url: str, name: str) -> str:
    parts = urlparse(base_url)
    return urlunparse(parts._replace(path=f"/{name}"))


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def copy_floor(url: str, tmp: Path) -> tuple[dict[str, int], float]:
    """Dump every table the import wrote, empty them, load the same rows back with COPY: (rows per table, seconds)."""
    dumps = {}
    with psycopg.connect(url, autocommit=True) as conn:
        rows = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
        for table in TABLES:
            path = tmp / f"{table}.copy"
            with open(path, "wb") as out, conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    out.write(chunk)
            dumps[table] = path
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        conn.execute("CHECKPOINT")
        started = time.perf_counter()
        with conn.transaction():
            for table in TABLES:
                with open(dumps[table], "rb") as data, conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                    while chunk := data.read(1 << 20):
                        copy.write(chunk)
        seconds = time.perf_counter() - started
    for path in dumps.values():
        path.unlink()
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = f"{urlparse(base_url).path.lstrip('/') or 'alphanode'}_import_bench"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    url = scratch_url(base_url, name)
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("REDIS_URL", None)
    manage("migrate", "--verbosity", "0", env=env)

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "posts.jsonl"
        manage("generate_posts", "--count", str(args.count), "--seed", str(args.seed), "--output", str(source), env=env)
        size_mb = source.stat().st_size / 1e6

        command = [
            "import_posts",
            str(source),
            "--batch-size",
            str(args.batch_size),
            "--rejects",
            f"{tmp}/rejects.jsonl",
        ]
        if args.workers:
            command += ["--workers", str(args.workers)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        result = manage(*command, env=env)
        import_seconds = time.perf_counter() - started
        # ru_maxrss of children is the largest single child (the import command or one of its workers), in KiB.
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        summary = result.stdout.decode().strip().splitlines()[-1]

        rows, copy_seconds = copy_floor(url, Path(tmp))

    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    print(f"records: {args.count} ({size_mb:.0f} MB of JSON Lines), rows: {sum(rows.values())} in {len(TABLES)} tables")
    print(f"import_posts: {import_seconds:.1f} s, {args.count / import_seconds:.0f} records/s; last line: {summary}")
    print(f"COPY floor:   {copy_seconds:.1f} s, {args.count / copy_seconds:.0f} records/s")
    print(f"peak memory:  {peak_mb:.0f} MB (largest process of the import)")
    print(f"ratio import/COPY: {import_seconds / copy_seconds:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
