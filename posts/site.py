"""The site's public identity: absolute URLs from SITE_URL, and the publisher named in feeds and metadata.

Absolute URLs never come from the request's Host header, cached or not: a
page rendered with the page cache off (or bypassed) says the same as a cached one.
"""

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse


def absolute_url(path: str) -> str:
    """`path` (starting with /) on the site's public address."""
    return f"{settings.SITE_URL}{path}"


def publisher_name() -> str:
    return settings.PUBLISHER_NAME


def logo() -> dict:
    """The publisher's logo for structured data: the apple-touch icon, a 180x180 PNG."""
    return _fixed_addresses(get_script_prefix())["site_logo"]


def organization() -> dict:
    """schema.org Organization data for the publisher."""
    return {
        "@type": "Organization",
        "name": publisher_name(),
        "url": absolute_url("/"),
        "logo": {"@type": "ImageObject", **logo()},
    }


FIXED_LINKS = ("home", "search", "feed_rss", "feed_atom", "sitemap_index")


@functools.cache
def _fixed_addresses(script_prefix: str) -> dict:
    # Reversing a URL and looking a file up in the static manifest cost ~60 µs each here; every
    # page has a dozen of them that only change with the code, the settings or the script prefix.
    assets = {
        "css": static("css/site.css"),
        "icon": static("icons/icon.svg"),
        "touch_icon": static("icons/apple-touch-icon.png"),
    }
    return {
        "links": {name: reverse(f"posts:{name}") for name in FIXED_LINKS},
        "assets": assets,
        "site_logo": {"url": absolute_url(assets["touch_icon"]), "width": 180, "height": 180},
    }


@receiver(setting_changed)
def _forget_fixed_addresses(**kwargs):
    _fixed_addresses.cache_clear()


def site_context(request) -> dict:
    """Template context processor: the publisher's name and logo for page metadata, the site's
    fixed links (`links.home`, `links.feed_rss`, ...) and asset URLs (`assets.css`, ...)."""
    return {"publisher_name": publisher_name(), **_fixed_addresses(get_script_prefix())}
