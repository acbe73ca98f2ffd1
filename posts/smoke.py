"""The page the deploy's smoke test fetches (settings.SMOKE_TEST_PATH points here)."""

from django.urls import NoReverseMatch

from posts.models import Post


def newest_article_path() -> str | None:
    """The newest published post's URL (uses the post_latest_published index); None without one."""
    post = Post.objects.published().order_by("-published_at", "-id").only("slug").first()
    if post is None:
        return None
    try:
        return post.get_absolute_url()
    except NoReverseMatch:  # an older release without the article route
        return None
