"""manage.py import_posts: load post records (JSON Lines, JSON, gzip, directories, stdin)."""

import argparse
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from posts.importing import DEFAULT_BATCH_SIZE, EXIT_RETRY, DatabaseUnavailable, import_records
from posts.models import Post
from posts.schedule_field import parse_time
from posts.sources import SourceError


class Command(BaseCommand):
    help = (
        "Import post records. Exit status: 0 all stored, 1 some rejected, 2 usage error, "
        "75 database unreachable (run it again to resume)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="+", help="files (.jsonl, .json, optionally .gz), directories, or - for stdin"
        )
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="records per transaction")
        parser.add_argument("--dry-run", action="store_true", help="validate and classify, then roll back")
        parser.add_argument("--keep-unknown", action="store_true", help="keep unknown top-level fields")
        parser.add_argument("--rejects", type=Path, help="reject file (default: import-rejects-<time>.jsonl)")
        parser.add_argument("--workers", type=int, help="validating processes (default: one per CPU, at most 4)")
        parser.add_argument(
            "--retry-seconds", type=float, help="retry this long while the database is unreachable (default 60)"
        )
        parser.add_argument("--state", choices=[Post.State.PUBLISHED, Post.State.DRAFT], default=Post.State.PUBLISHED,
                            help="state of newly created posts")  # fmt: skip
        parser.add_argument(
            "--publish-at",
            type=_aware_time,
            metavar="ISO",
            help="publish the posts this run creates at this time, e.g. 2026-12-07T09:00:00+01:00",
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1", returncode=2)
        with _progress(self.stderr) as progress:
            try:
                report = import_records(
                    options["paths"],
                    batch_size=options["batch_size"],
                    dry_run=options["dry_run"],
                    keep_unknown=options["keep_unknown"],
                    new_state=options["state"],
                    reject_path=options["rejects"],
                    workers=options["workers"],
                    progress=progress,
                    publish_at=options["publish_at"],
                    retry_seconds=options["retry_seconds"],
                )
            except SourceError as error:
                raise CommandError(str(error), returncode=2) from None
            except DatabaseUnavailable as stopped:
                self.stdout.write(stopped.report.summary())
                raise CommandError(str(stopped), returncode=EXIT_RETRY) from None
        for error in report.errors[:20]:
            self.stderr.write(f"rejected {error}")
        if report.rejected > 20:
            self.stderr.write(f"... {report.rejected - 20} more rejections in {report.errors_path}")
        if report.reject_path:
            self.stderr.write(f"rejected records: {report.reject_path}; reasons: {report.errors_path}")
        if report.held:
            self.stdout.write(f"held for review {report.held} (edited in the admin since their last import)")
        if options["dry_run"]:
            self.stdout.write("dry run: nothing was written")
        self.stdout.write(report.summary())
        if report.failure:
            raise CommandError(report.failure, returncode=1)
        if report.rejected:
            raise CommandError(f"{report.rejected} record(s) rejected", returncode=1)


def _aware_time(text: str):
    def error(found):
        return argparse.ArgumentTypeError(f"expected an ISO 8601 time with its UTC offset, found {found}")

    return parse_time(text, error=error)


class _progress:
    """A tqdm bar on a terminal; otherwise a plain progress line every 10 seconds."""

    def __init__(self, stream):
        self.stream = stream
        self.bar = tqdm(unit=" records", file=sys.stderr, dynamic_ncols=True) if stream.isatty() else None
        self.count = 0
        self.started = self.last = time.monotonic()

    def __enter__(self):
        return self

    def __call__(self, count: int) -> None:
        self.count += count
        if self.bar is not None:
            self.bar.update(count)
            return
        now = time.monotonic()
        if now - self.last >= 10:
            self.last = now
            self.stream.write(f"progress: {self.count} records ({self.count / (now - self.started):.0f} records/s)")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
