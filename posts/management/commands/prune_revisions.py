"""manage.py prune_revisions: delete old revisions, never the live, last approved or waiting ones."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from posts import revisions


class Command(BaseCommand):
    help = (
        "Delete revisions older than --older-than days, keeping each post's --keep newest ones. "
        "A post's live revision, its last approved one and an import waiting for review are always kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--keep", type=int, required=True, help="revisions to keep per post, newest first (>= 1)")
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS", help="only delete older revisions")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args, keep, older_than, dry_run, **options):
        if older_than < 0:
            raise CommandError(f"--older-than: expected a number of days >= 0, found {older_than}")
        try:
            count = revisions.revisions_prune(
                keep=keep, older_than=datetime.timedelta(days=older_than), dry_run=dry_run
            )
        except ValueError as error:
            raise CommandError(f"--{error}") from None
        self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {count} revision(s)")
