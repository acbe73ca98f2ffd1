"""manage.py generate_posts: deterministic synthetic post records (JSON Lines)."""

import gzip
import sys

from django.core.management.base import BaseCommand, CommandError

from posts.generating import generate_lines


class Command(BaseCommand):
    help = "Write --count synthetic post records; the same --seed always gives the same bytes."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="how many records")
        parser.add_argument("--seed", type=int, default=1, help="seed (default 1)")
        parser.add_argument("--start", type=int, default=0, help="index of the first record (default 0)")
        parser.add_argument("--output", "-o", help="file to write (.gz compresses); default stdout")

    def handle(self, *args, **options):
        if options["count"] < 0 or options["start"] < 0:
            raise CommandError("--count and --start must not be negative", returncode=2)
        lines = generate_lines(options["count"], options["seed"], options["start"])
        output = options["output"]
        if output is None:
            sys.stdout.buffer.writelines(lines)
            sys.stdout.flush()
            return
        try:
            stream = (gzip.open if output.endswith(".gz") else open)(output, "wb")
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}", returncode=2) from None
        with stream:
            stream.writelines(lines)
