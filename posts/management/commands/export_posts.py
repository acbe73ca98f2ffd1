"""manage.py export_posts: write posts as records (JSON Lines) to stdout or a file."""

import gzip

from django.core.management.base import BaseCommand, CommandError

from posts.exporting import iter_records, select_posts
from posts.records import FLAG_NAMES


class Command(BaseCommand):
    help = "Export posts in the import format, one JSON record per line."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="file to write (.gz compresses); default stdout")
        parser.add_argument("--source-id", action="append", dest="source_ids", help="only this post (repeatable)")
        parser.add_argument("--tag", action="append", dest="tags", help="only posts with this stack/tools tag")
        parser.add_argument(
            "--flag", action="append", dest="flags", choices=FLAG_NAMES, help="only posts with this flag set"
        )
        parser.add_argument(
            "--schedule", action="store_true", help="add `_schedule` to scheduled posts (docs/post-format.md)"
        )

    def handle(self, *args, **options):
        lines = iter_records(
            select_posts(source_ids=options["source_ids"], tags=options["tags"], flags=options["flags"]),
            schedule=options["schedule"],
        )
        output = options["output"]
        count = 0
        if output is None:
            for line in lines:
                self.stdout.write(line.decode())
                count += 1
        else:
            try:
                stream = (gzip.open if output.endswith(".gz") else open)(output, "wb")
            except OSError as error:
                raise CommandError(f"cannot write {output}: {error.strerror}", returncode=2) from None
            with stream:
                for line in lines:
                    stream.write(line + b"\n")
                    count += 1
        self.stderr.write(f"exported {count} posts")
