"""The article's parts that depend only on the post's record, rendered when the post is written.

Like the body (rendering.py), the "alphanode post meta" box and the aside's
Stack / Tools / About lists change only when the record does, so the write
path (services.posts_write) renders them once and stores them on the post;
the article then joins stored HTML instead of running the meta box's nested
templates on every uncached view. `page_facts` keeps what the page still
needs from the related rows without querying them: the keywords and image
of the head metadata, and the tag and entity ids Similar Posts starts from.

The markup is byte-for-byte what templates/posts/detail.html rendered before
(tests/browser/test_article.py holds the article's text to the reference
rendering). Strings are escaped as the template did: html.escape gives the
same five entities as Django's escape, without its lazy-string wrapper (an
import renders thousands of boxes a second). Stored links carry the tag and
entity slugs of the moment they were written; `manage.py render_fragments`
renders every post again (after renaming a tag, say).
"""

import functools
from html import escape

from django.urls import reverse

from posts import metabox, rendering

_ITEM_CHILDREN_END = "</ul>\n"


@functools.lru_cache(maxsize=8192)
def _url(route: str, slug: str) -> str:
    """A listing's URL; tags and entities repeat across posts, and reverse() is slow."""
    return reverse(route, kwargs={"slug": slug})


def _items_html(items: list[metabox.MetaItem]) -> str:
    """templates/posts/_meta_items.html, recursively (it ends with a newline)."""
    parts = ["<ul>"]
    for item in items:
        text = escape(item.text)
        parts.append(f'<li><a href="{escape(item.url)}">{text}</a>' if item.url else f"<li>{text}")
        if item.children:
            parts.append(_items_html(item.children))
        parts.append("</li>")
    parts.append(_ITEM_CHILDREN_END)
    return "".join(parts)


def meta_box_html(rows: list[metabox.MetaRow]) -> str:
    """The <section class="post-meta"> of the article for the box's rows."""
    parts = [
        '<section class="post-meta" aria-labelledby="post-meta-title">\n'
        '<h2 id="post-meta-title">alphanode post meta</h2>\n'
        '<dl class="post-meta__list">\n'
    ]
    for row in rows:
        key = escape(row.key)
        if row.is_list:
            items = _items_html(row.items)
            parts.append(f'<div class="post-meta__row post-meta__row--list"><dt>{key}</dt><dd>{items}</dd></div>\n')
        else:
            text = escape(row.text)
            value = f'<a href="{escape(row.url)}">{text}</a>' if row.url else text
            parts.append(f'<div class="post-meta__row"><dt>{key}</dt><dd>{value}</dd></div>\n')
    parts.append("</dl>\n</section>")
    return "".join(parts)


def _tag_list(heading: str, kind: str, route: str, tags: list[tuple[str, str]], label: str) -> str:
    if not tags:
        return ""
    # The hidden label tells a screen reader which list a link belongs to when it is read alone.
    links = "".join(
        f'<li><a class="tag tag--{kind}" href="{escape(_url(route, slug))}">'
        f'<span class="visually-hidden">{label}: </span>{escape(name)}</a></li>'
        for name, slug in tags
    )
    return f'<h2 class="post-info__heading">{heading}</h2>\n  <ul class="tags">{links}</ul>'


def _entity_list(entities: list[tuple[str, str, str]]) -> str:
    if not entities:
        return ""
    links = "".join(
        f'<li><a href="{escape(_url("posts:entity", slug))}">{escape(name)}</a> '
        f'<span class="muted">({escape(kind)})</span></li>'
        for name, kind, slug in entities
    )
    return f'<h2 class="post-info__heading">About</h2>\n  <ul class="post-info__entities">{links}</ul>'


def image_meta(image: dict) -> dict:
    """The article's image for OpenGraph and JSON-LD: its URL, alt text and size when the URL states one."""
    width, height = rendering.stated_image_size(image["url"]) or (None, None)
    return {"url": image["url"], "alt": image["caption"], "width": width, "height": height}


def render_markup(
    canonical: dict,
    *,
    tag_slugs: dict[str, str],
    entity_slugs: dict[tuple[str, str], str],
    topic_slug: str,
) -> dict:
    """meta_html and tags_html: the stored markup of a post's article, given the slugs its links use.

    tag_slugs: {name: slug} for at least the record's stack and tools;
    entity_slugs: {(name, type): slug} for at least its entities.
    """
    stack = [(name, tag_slugs[name]) for name in canonical["stack"]]
    tools = [(name, tag_slugs[name]) for name in canonical["tools"]]
    links = {
        "stack": {name: _url("posts:stack", slug) for name, slug in stack},
        "tools": {name: _url("posts:tools", slug) for name, slug in tools},
    }
    if topic_slug:
        links["topic"] = {canonical["topic"]: _url("posts:topic", topic_slug)}
    entities = [(e["name"], e["type"], entity_slugs[(e["name"], e["type"])]) for e in canonical["entities"]]
    return {
        "meta_html": meta_box_html(metabox.meta_rows(canonical, links=links)),
        "tags_html": "\n  ".join(
            (
                _tag_list("Stack", "stack", "posts:stack", stack, "Stack"),
                _tag_list("Tools", "tool", "posts:tools", tools, "Tool"),
                _entity_list(entities),
            )
        ),
    }


def record_slugs(canonical: dict, tags: dict[str, tuple[int, str]]) -> dict[str, str]:
    """{name: slug} of the record's stack and tools, from a {name: (id, slug)} of at least those."""
    return {name: tags[name][1] for name in (*canonical["stack"], *canonical["tools"])}


def record_entity_slugs(canonical: dict, entities: dict) -> dict[tuple[str, str], str]:
    """{(name, type): slug} of the record's entities, from a {(name, type): (id, slug)} of at least those."""
    return {(e["name"], e["type"]): entities[(e["name"], e["type"])][1] for e in canonical["entities"]}


def page_facts(
    canonical: dict, *, tags: dict[str, tuple[int, str]], entities: dict[tuple[str, str], tuple[int, str]]
) -> dict:
    """What the article needs of the related rows without querying them (see the module docstring)."""
    images = canonical["image_sources"]
    names = (*canonical["stack"], *canonical["tools"])
    return {
        "keywords": list(dict.fromkeys(names)),
        "image": image_meta(images[0]) if images else None,
        "tag_ids": sorted({tags[name][0] for name in names}),
        "entity_ids": sorted({entities[(e["name"], e["type"])][0] for e in canonical["entities"]}),
    }


def render_fragments(
    canonical: dict,
    *,
    tags: dict[str, tuple[int, str]],
    entities: dict[tuple[str, str], tuple[int, str]],
    topic_slug: str,
) -> dict:
    """The stored parts of a post's article: meta_html, tags_html and page_facts.

    tags: {name: (id, slug)} for at least the record's stack and tools;
    entities: {(name, type): (id, slug)} for at least its entities.
    """
    markup = render_markup(
        canonical,
        tag_slugs=record_slugs(canonical, tags),
        entity_slugs=record_entity_slugs(canonical, entities),
        topic_slug=topic_slug,
    )
    return {**markup, "page_facts": page_facts(canonical, tags=tags, entities=entities)}
