"""Template helpers for the reader site: dates for <time>, structured data for search engines."""

import json

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from posts import rendering
from posts.site import absolute_url, organization, publisher_name

register = template.Library()

# The characters that could end the <script> element or open a comment
# inside it, written as JSON escapes (as Django's json_script does).
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def json_ld(data: dict) -> str:
    """A JSON-LD <script> element; the JSON cannot close the element, whatever the data holds."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308 (escaped above)


@register.filter
def iso_datetime(value) -> str:
    """An aware datetime as ISO 8601 to the second (HTML's <time datetime> rejects microseconds)."""
    if not value:
        return ""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def _website() -> dict:
    return {"@type": "WebSite", "name": publisher_name(), "url": absolute_url("/")}


@register.filter
def stored_html(html: str) -> str:
    """A post's stored body HTML, sanitized on the way out (see rendering.clean_stored)."""
    return mark_safe(rendering.clean_stored(html))  # noqa: S308 (sanitized by nh3)


@register.simple_tag
def article_json_ld(post, url: str, keywords: list[str], image: dict | None = None) -> str:
    """schema.org Article data for an article page; the publisher is its author (records name none)."""
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": post.title,
        "description": post.summary,
        "url": url,
        "mainEntityOfPage": url,
        "articleSection": post.topic,
        "keywords": keywords,
        "dateModified": iso_datetime(post.updated_at),
        "author": {"@type": "Organization", "name": publisher_name(), "url": absolute_url("/")},
        "publisher": organization(),
    }
    if post.published_at:
        data["datePublished"] = iso_datetime(post.published_at)
    if image:
        data["image"] = {"@type": "ImageObject", "url": image["url"], "caption": image["alt"]}
        if image.get("width"):
            data["image"].update(width=image["width"], height=image["height"])
    return json_ld(data)


@register.simple_tag
def listing_json_ld(kind: str, heading: str, url: str, description: str) -> str:
    """schema.org data for the home page (WebSite) or a listing (CollectionPage within the WebSite)."""
    if kind == "home":
        data = {
            "@context": "https://schema.org",
            **_website(),
            "description": description,
            "publisher": organization(),
            "potentialAction": {
                "@type": "SearchAction",
                "target": absolute_url("/search/?q={query}"),
                "query-input": "required name=query",
            },
        }
    else:
        data = {
            "@context": "https://schema.org",
            "@type": "CollectionPage",
            "name": heading,
            "url": url,
            "description": description,
            "isPartOf": _website(),
            "publisher": organization(),
        }
    return json_ld(data)
