"""manage.py publish_scheduled: apply the publications and unpublications that are due (for a timer, if wanted)."""

from django.core.management.base import BaseCommand

from posts.scheduling import apply_due, next_scheduled_event


class Command(BaseCommand):
    help = "Apply due scheduled publications and unpublications. The site does this itself; no timer is needed."

    def handle(self, *args, **options):
        changes = apply_due(wait=True)
        self.stdout.write(f"applied {len(changes)} scheduled event(s)")
        upcoming = next_scheduled_event()
        self.stdout.write(f"next: {upcoming.isoformat()}" if upcoming else "next: none scheduled")
