"""manage.py render_fragments: render every post's stored article fragments again."""

from django.core.management.base import BaseCommand

from posts.services import posts_render_fragments


class Command(BaseCommand):
    help = (
        "Render the stored meta box, tag lists and page facts of every post again from its record "
        "(after renaming a tag or an entity; then purge_cache --all)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        count = posts_render_fragments(batch_size=options["batch_size"])
        self.stdout.write(f"rendered the fragments of {count} post(s)")
