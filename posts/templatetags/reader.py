"""Template helpers for the reader site's <head>: structured data for search engines."""

import json

from django import template
from django.utils.safestring import mark_safe

from posts import rendering

register = template.Library()

# The characters that could end the <script> element or open a comment
# inside it, written as JSON escapes (as Django's json_script does).
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def json_ld(data: dict) -> str:
    """A JSON-LD <script> element; the JSON cannot close the element, whatever the data holds."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308 (escaped above)


@register.filter
def stored_html(html: str) -> str:
    """A post's stored body HTML, sanitized on the way out (see rendering.clean_stored)."""
    return mark_safe(rendering.clean_stored(html))  # noqa: S308 (sanitized by nh3)


@register.simple_tag
def article_json_ld(post, url: str, keywords: list[str], image_url: str = "") -> str:
    """schema.org Article data for an article page."""
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": post.title,
        "description": post.summary,
        "url": url,
        "mainEntityOfPage": url,
        "articleSection": post.topic,
        "keywords": keywords,
        "dateModified": post.updated_at.isoformat(),
        "publisher": {"@type": "Organization", "name": "alphanode"},
    }
    if post.published_at:
        data["datePublished"] = post.published_at.isoformat()
    if image_url:
        data["image"] = image_url
    return json_ld(data)
