"""manage.py date_generated_posts: give generated posts their publication dates (for demos)."""

from django.core.management.base import BaseCommand

from posts import services
from posts.generating import publication_time_of
from posts.models import Post

BATCH = 1000


class Command(BaseCommand):
    help = (
        "Date every published generated post (source id gen-<seed>-<index>) from its seed: "
        "deterministic, spread over two years. Other posts keep their dates."
    )

    def handle(self, *args, **options):
        generated = Post.objects.published().filter(source_id__startswith="gen-").values_list("pk", "source_id")
        dates = {pk: when for pk, source_id in generated.iterator() if (when := publication_time_of(source_id))}
        ids = sorted(dates)
        changed = 0
        for start in range(0, len(ids), BATCH):
            changed += services.posts_set_published_at({pk: dates[pk] for pk in ids[start : start + BATCH]})
        self.stdout.write(f"dated {changed} of {len(ids)} generated posts")
