"""manage.py smoke_test: ask the running server for /health and one article (scripts/deploy runs it)."""

import os

from django.core.management.base import BaseCommand, CommandError

from alphanode.ops import releases, smoke
from alphanode.ops.smoke import SmokeTestFailed, smoke_test


class Command(BaseCommand):
    help = "Check the running server answers as this release. Exit 0 when it does, 1 when it does not."

    def add_arguments(self, parser):
        bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
        parser.add_argument("--base-url", default=f"http://{bind}", help="the server (default: http://$GUNICORN_BIND)")
        parser.add_argument("--host", help="Host header to send (default: the first name in ALLOWED_HOSTS)")
        parser.add_argument("--expect-release", help="release id /health must report (default: this code's release)")
        parser.add_argument("--path", help="article path to fetch (default: the newest published post)")
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the release to answer")

    def handle(self, *args, **options):
        release = options["expect_release"] or releases.current_release()["id"]
        try:
            report = smoke_test(
                options["base_url"],
                release,
                path=options["path"],
                host=smoke.site_host() if options["host"] is None else options["host"],
                timeout=options["timeout"],
            )
        except SmokeTestFailed as error:
            raise CommandError(f"smoke test failed: {error}", returncode=1) from None
        for line in report.checked:
            self.stdout.write(f"ok {line}")
        for line in report.notes:
            self.stdout.write(f"note: {line}")
