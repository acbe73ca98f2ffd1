"""manage.py record_deployment: store what scripts/deploy or scripts/rollback did (shown on /ops/)."""

from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from alphanode.ops import releases
from alphanode.ops.models import Deployment


class Command(BaseCommand):
    help = "Record a deployment or rollback and its outcome."

    def add_arguments(self, parser):
        parser.add_argument("--action", required=True, choices=Deployment.Action.values)
        parser.add_argument("--outcome", required=True, choices=Deployment.Outcome.values)
        parser.add_argument("--release", required=True)
        parser.add_argument("--commit", default="")
        parser.add_argument("--previous", default="", help="the release that was live before")
        parser.add_argument("--started-at", required=True, help="ISO 8601 time the run started")
        parser.add_argument("--migrations-file", type=Path, help="the migration plan that was applied")
        parser.add_argument("--changes-file", type=Path, help="commits since the previous release")
        parser.add_argument("--message", default="")

    def handle(self, *args, **options):
        try:
            started_at = datetime.fromisoformat(options["started_at"])
        except ValueError:
            raise CommandError(
                f"--started-at must be an ISO 8601 time like 2026-01-31T12:00:00Z; got {options['started_at']!r}",
                returncode=2,
            ) from None
        deployment = releases.record_deployment(
            action=options["action"],
            outcome=options["outcome"],
            release=options["release"],
            commit=options["commit"],
            previous_release=options["previous"],
            started_at=started_at,
            migrations=_read(options["migrations_file"]),
            changes=_read(options["changes_file"]),
            message=options["message"],
        )
        self.stdout.write(f"recorded {deployment}")


def _read(path: Path | None) -> str:
    return path.read_text().strip() if path and path.exists() else ""
