"""manage.py purge_cache: purge cached pages by route, cache tag, or all of them."""

from django.core.management.base import BaseCommand, CommandError

from alphanode.pagecache.purge import purge, retry_failed


class Command(BaseCommand):
    help = (
        "Purge the page cache: --route PATH, --tag TAG (e.g. post:12, list:stack:python), --all. "
        "For every page that shows a post, see `manage.py purge_posts`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--route", action="append", default=[], help="a path, e.g. /posts/my-post/ (repeatable)")
        parser.add_argument("--tag", action="append", default=[], help="a cache tag such as post:12 or list:home")
        parser.add_argument("--all", action="store_true", help="purge every cached page")
        parser.add_argument("--retry-failed", action="store_true", help="re-run purges that failed earlier")
        parser.add_argument("--reason", default="manage.py purge_cache", help="recorded in the purge log")

    def handle(self, *args, **options):
        wanted = options["route"] or options["tag"] or options["all"]
        if options["retry_failed"]:
            self.stdout.write(f"retried {retry_failed()} failed purge(s)")
            if not wanted:
                return
        if not wanted:
            raise CommandError("say what to purge: --route, --tag or --all", returncode=2)
        result = purge(
            tags=options["tag"], routes=options["route"], everything=options["all"], reason=options["reason"]
        )
        if not result.succeeded:
            raise CommandError(f"purge failed and was recorded for retry: {result.log.error if result.log else ''}")
        self.stdout.write(f"purged {result.pages} page(s)")
        for url, outcome in result.edge.outcomes.items():
            self.stdout.write(f"edge {url}: {outcome}")
