"""The site's public identity: absolute URLs from SITE_URL, and the publisher named in feeds and metadata.

Absolute URLs never come from the request's Host header, cached or not: a
page rendered with the page cache off (or bypassed) says the same as a cached one.
"""

from django.conf import settings
from django.templatetags.static import static


def absolute_url(path: str) -> str:
    """`path` (starting with /) on the site's public address."""
    return f"{settings.SITE_URL}{path}"


def publisher_name() -> str:
    return settings.PUBLISHER_NAME


def logo() -> dict:
    """The publisher's logo for structured data: the apple-touch icon, a 180x180 PNG."""
    return {"url": absolute_url(static("icons/apple-touch-icon.png")), "width": 180, "height": 180}


def organization() -> dict:
    """schema.org Organization data for the publisher."""
    return {
        "@type": "Organization",
        "name": publisher_name(),
        "url": absolute_url("/"),
        "logo": {"@type": "ImageObject", **logo()},
    }


def site_context(request) -> dict:
    """Template context processor: the publisher's name and logo for page metadata."""
    return {"publisher_name": publisher_name(), "site_logo": logo()}
