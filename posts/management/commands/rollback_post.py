"""manage.py rollback_post: give a post the content of an earlier revision (as a new revision)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from posts import revisions
from posts.models import Post


class Command(BaseCommand):
    help = (
        "Roll a post back to an earlier revision. This writes a new revision (history is never rewritten) "
        "and purges the post's pages; rolling forward again works the same way."
    )

    def add_arguments(self, parser):
        parser.add_argument("post", help="the post's source_id or slug")
        parser.add_argument(
            "--to",
            required=True,
            metavar="VERSION|id:N",
            help="a version such as 1.5.8 (the newest applied revision with it) or id:<revision id>",
        )
        parser.add_argument("--author", help="username to record as the rollback's author")

    def handle(self, *args, post, to, author, **options):
        try:
            found = revisions.find_post(post)
            target = revisions.find_revision(found, to)
            user = get_user_model().objects.get(username=author) if author else None
            result = revisions.post_rollback(found, target, author=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"--author: expected an existing username, found {author!r}") from None
        except (Post.DoesNotExist, revisions.RevisionNotFound, ValueError) as error:
            raise CommandError(str(error)) from None
        if result.rejected:
            raise CommandError(f"rollback refused: {result.rejected[0][1]}")
        if result.unchanged:
            self.stdout.write(f"{found.source_id} already has the content of revision {target.pk}; nothing written")
            return
        live = revisions.live_revision(found.pk)
        self.stdout.write(
            f"rolled back {found.source_id} to revision {target.pk} (version {target.version or 'none'}) "
            f"as new revision {live.pk}"
        )
