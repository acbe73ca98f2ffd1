"""Template tags for the editorial admin pages."""

from django import template
from django.urls import reverse

from posts.admin.lists import COUNT_CAP, capped_count
from posts.models import Post

register = template.Library()


@register.simple_tag(takes_context=True)
def review_queue_summary(context) -> dict | None:
    """How many posts wait in the review queue, for the admin home; None for users who can't see it.

    Two capped counts on the queue's partial index: the home page stays cheap
    however long the queue grows.
    """
    user = context["request"].user
    if not (user.has_perm("posts.view_post") or user.has_perm("posts.review_post")):
        return None
    count = capped_count(Post.objects.flagged())
    return {
        "count": min(count, COUNT_CAP),
        "count_text": f"more than {COUNT_CAP:,}" if count > COUNT_CAP else f"{count:,}",
        "capped": count > COUNT_CAP,
        "mine": Post.objects.flagged().filter(claimed_by=user).count(),
        "url": reverse("admin:posts_reviewqueue_changelist"),
    }
