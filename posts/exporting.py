"""Export posts as records in the import format, streamed in id order."""

from collections.abc import Iterator

from django.db.models import Q, QuerySet

from posts import records, schedule_field
from posts.models import Post

_PAGE = 500


def record_of(post: Post) -> dict:
    """The canonical record of a post fetched with `Post.objects.with_record_parts()`."""
    return records.record_from_post(
        post,
        stack=[item.tag.name for item in post.stack_items.all()],
        tools=[item.tag.name for item in post.tool_items.all()],
        entities=[{"name": link.entity.name, "type": link.entity.type} for link in post.entity_links.all()],
        image_sources=[
            {"source": image.source, "url": image.url, "caption": image.caption} for image in post.image_sources.all()
        ],
    )


def select_posts(
    *, source_ids: list[str] | None = None, tags: list[str] | None = None, flags: list[str] | None = None
) -> QuerySet:
    """Posts matching every given filter; a tag matches by name or slug, in stack or tools."""
    posts = Post.objects.all()
    if source_ids:
        posts = posts.filter(source_id__in=source_ids)
    for tag in tags or []:
        posts = posts.filter(
            Q(stack_items__tag__name=tag)
            | Q(stack_items__tag__slug=tag)
            | Q(tool_items__tag__name=tag)
            | Q(tool_items__tag__slug=tag)
        ).distinct()
    for flag in flags or []:
        posts = posts.filter(**{flag: True})
    return posts


def iter_records(posts: QuerySet, *, schedule: bool = False) -> Iterator[bytes]:
    """One JSON line per post, reading a page of posts at a time (keyset pagination on id).

    schedule: add `_schedule` to the records of scheduled posts (posts/schedule_field.py).
    """
    last_id = 0
    while True:
        page = list(posts.filter(pk__gt=last_id).order_by("pk").with_record_parts()[:_PAGE])
        if not page:
            return
        for post in page:
            record = record_of(post)
            planned = schedule_field.schedule_value(post) if schedule else None
            yield records.record_line({**record, schedule_field.FIELD: planned} if planned else record)
        last_id = page[-1].pk
