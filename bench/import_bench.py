"""Import benchmark: `import_posts` against PostgreSQL's own COPY of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/import_bench.py --count 100000

Generates N records, imports them with `manage.py import_posts` into a fresh
scratch database, then dumps every table the import wrote, empties them and
loads the same rows back with COPY (the floor). Prints records/s, peak memory
of the import (main process and its workers) and import time / COPY time.
Target: ratio <= 1.5 and peak memory < 300 MB at 20,000 and 100,000 records.

On this shared 2-core machine the same run varies by 20% and more from one
minute to the next (the same import took 21 to 30 s within half an hour, its
CPU time 24 to 37 s); `--rounds 5` repeats import and COPY one after the other
on the same records and prints each round and the median one.
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


def settle(url: str) -> None:
    """Start a timed run with nothing left to write: the database checkpointed, the files just
    written (the generated records, the dumps) on disk. Both runs start so, and neither pays for
    what the other, or the step before it, left in memory."""
    os.sync()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


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
        settle(url)
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


def one_round(base_url: str, name: str, source: Path, tmp: Path, args) -> dict:
    """Import `source` into a fresh scratch database, then load the same rows with COPY."""
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    url = scratch_url(base_url, name)
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("REDIS_URL", None)
    manage("migrate", "--verbosity", "0", env=env)
    command = ["import_posts", str(source), "--batch-size", str(args.batch_size), "--rejects", f"{tmp}/rejects.jsonl"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    settle(url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = manage(*command, env=env)
    import_seconds = time.perf_counter() - started
    # ru_maxrss of children is the largest single child (the import command or one of its workers), in KiB.
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    rows, copy_seconds = copy_floor(url, tmp)
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return {
        "import": import_seconds,
        "copy": copy_seconds,
        "ratio": import_seconds / copy_seconds,
        "peak_mb": peak_mb,
        "rows": sum(rows.values()),
        "summary": result.stdout.decode().strip().splitlines()[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=1, help="import and COPY this many times, one after the other; the median counts"
    )
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = f"{urlparse(base_url).path.lstrip('/') or 'alphanode'}_import_bench"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "posts.jsonl"
        env = {**os.environ, "DATABASE_URL": scratch_url(base_url, name)}
        manage("generate_posts", "--count", str(args.count), "--seed", str(args.seed), "--output", str(source), env=env)
        size_mb = source.stat().st_size / 1e6
        rounds = []
        for number in range(1, args.rounds + 1):
            rounds.append(one_round(base_url, name, source, Path(tmp), args))
            if args.rounds > 1:
                last = rounds[-1]
                print(f"round {number}: import {last['import']:.1f} s, COPY {last['copy']:.1f} s, {last['ratio']:.2f}")

    middle = sorted(rounds, key=lambda one: one["ratio"])[len(rounds) // 2]
    print(f"records: {args.count} ({size_mb:.0f} MB of JSON Lines), rows: {middle['rows']} in {len(TABLES)} tables")
    if args.rounds > 1:
        print(f"the median round of {args.rounds} (by ratio):")
    rate = args.count / middle["import"]
    print(f"import_posts: {middle['import']:.1f} s, {rate:.0f} records/s; last line: {middle['summary']}")
    print(f"COPY floor:   {middle['copy']:.1f} s, {args.count / middle['copy']:.0f} records/s")
    print(f"peak memory:  {max(one['peak_mb'] for one in rounds):.0f} MB (largest process of the import, any round)")
    print(f"ratio import/COPY: {middle['ratio']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
