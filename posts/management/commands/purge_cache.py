"""manage.py purge_cache: purge cached pages by route, post, cache tag, or all of them."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from posts import pagecache
from posts.models import Post


class Command(BaseCommand):
    help = "Purge the page cache: --route PATH, --post SOURCE_ID|SLUG, --tag TAG (e.g. list:stack:python), --all."

    def add_arguments(self, parser):
        parser.add_argument("--route", action="append", default=[], help="a path, e.g. /posts/my-post/ (repeatable)")
        parser.add_argument("--post", action="append", default=[], help="a post's source_id or slug (repeatable)")
        parser.add_argument("--tag", action="append", default=[], help="a cache tag such as post:12 or list:home")
        parser.add_argument("--all", action="store_true", help="purge every cached page")
        parser.add_argument("--retry-failed", action="store_true", help="re-run purges that failed earlier")
        parser.add_argument("--reason", default="manage.py purge_cache", help="recorded in the purge log")

    def handle(self, *args, **options):
        if options["retry_failed"]:
            self.stdout.write(f"retried {pagecache.retry_failed()} failed purge(s)")
            if not (options["route"] or options["post"] or options["tag"] or options["all"]):
                return
        if not (options["route"] or options["post"] or options["tag"] or options["all"]):
            raise CommandError("say what to purge: --route, --post, --tag or --all", returncode=2)
        posts = list(Post.objects.filter(Q(source_id__in=options["post"]) | Q(slug__in=options["post"])))
        missing = set(options["post"]) - {p.source_id for p in posts} - {p.slug for p in posts}
        if missing:
            raise CommandError(f"no post with source_id or slug {', '.join(sorted(missing))}", returncode=2)
        tags = [*options["tag"]]
        for post in posts:
            tags += [pagecache.post_tag(post.pk), pagecache.slug_tag(post.slug)]
        result = pagecache.purge(
            tags=tags, routes=options["route"], everything=options["all"], reason=options["reason"]
        )
        if not result.succeeded:
            raise CommandError(f"purge failed and was recorded for retry: {result.log.error if result.log else ''}")
        self.stdout.write(f"purged {result.pages} page(s)")
