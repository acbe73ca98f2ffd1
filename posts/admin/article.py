"""The article as readers will see it, for the admin: the reader's template and CSS, from a record.

The review page shows the post's current record this way, and the post form's
preview panel an unsaved one. Both are framed by an admin page, so the response
allows framing by the site's own pages (and no one else), and is never stored
(`no-store`: the page cache leaves /admin/ alone anyway).
"""

from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag

from alphanode.ops.csp import HEADER, framed_by_own_pages_header
from posts import fragments, records, rendering, services
from posts.models import Post


def article_response(request, record: dict, *, post: Post | None = None) -> TemplateResponse:
    """posts/detail.html for `record`; `post` (the stored post, if any) gives its state and dates."""
    response = TemplateResponse(request, "posts/detail.html", article_context(record, post=post))
    response["Cache-Control"] = "no-store"
    response["X-Frame-Options"] = "SAMEORIGIN"
    response[HEADER] = framed_by_own_pages_header()
    return response


def article_context(record: dict, *, post: Post | None = None) -> dict:
    """The context the reader's article template needs, built from a record instead of stored rows."""
    shown = Post(**records.post_fields(record))
    shown.body_html = rendering.render_record(record)
    shown.topic_slug = services.topic_slug(record["topic"])
    now = timezone.now()
    if post is not None:
        shown.pk, shown.slug, shown.state = post.pk, post.slug, post.state
        shown.published_at, shown.created_at, shown.updated_at = post.published_at, post.created_at, post.updated_at
    else:
        shown.slug, shown.state, shown.created_at, shown.updated_at = "preview", Post.State.DRAFT, now, now
    shown.updated_at = shown.updated_at or now
    stack, tools = _tags(record["stack"]), _tags(record["tools"])
    tags = {tag.name: (tag.pk or 0, tag.slug) for tag in (*stack, *tools)}
    entities = {(item["name"], item["type"]): (0, _slug(item["name"])) for item in record["entities"]}
    # The same stored fragments a saved post gets (posts/fragments.py), made from the record.
    rendered = fragments.render_fragments(record, tags=tags, entities=entities, topic_slug=shown.topic_slug)
    for name, value in rendered.items():
        setattr(shown, name, value)
    return {
        "post": shown,
        "canonical_url": "",
        "keywords": rendered["page_facts"]["keywords"],
        "image": rendered["page_facts"]["image"],
        "similar": [],
        "can_edit": False,
    }


def _tags(names: list[str]) -> list[Tag]:
    """Tag objects for names: the stored tag (its slug) where there is one, an unsaved one otherwise."""
    stored = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    return [stored.get(name) or Tag(name=name, slug=_slug(name)) for name in names]


def _slug(name: str) -> str:
    return slugify(name)[:100].strip("-") or "new"


def _url(name: str, slug: str) -> str:
    try:
        return reverse(name, kwargs={"slug": slug})
    except NoReverseMatch:
        return "#"
