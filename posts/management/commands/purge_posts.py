"""manage.py purge_posts: purge every cached page that shows the given posts."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from posts.cache_tags import purge_posts
from posts.models import Post


class Command(BaseCommand):
    help = "Purge every cached page that shows these posts (article, listings, feeds, similar posts)."

    def add_arguments(self, parser):
        parser.add_argument("posts", nargs="+", help="source_id or slug of a post")
        parser.add_argument("--reason", default="manage.py purge_posts", help="recorded in the purge log")

    def handle(self, *args, **options):
        wanted = options["posts"]
        posts = list(Post.objects.filter(Q(source_id__in=wanted) | Q(slug__in=wanted)).only("pk", "slug", "source_id"))
        missing = set(wanted) - {p.source_id for p in posts} - {p.slug for p in posts}
        if missing:
            raise CommandError(f"no post with source_id or slug {', '.join(sorted(missing))}", returncode=2)
        result = purge_posts(posts, reason=options["reason"])
        if not result.succeeded:
            raise CommandError(f"purge failed and was recorded for retry: {result.log.error if result.log else ''}")
        self.stdout.write(f"purged {result.pages} page(s)")
