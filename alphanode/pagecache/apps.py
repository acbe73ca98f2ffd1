from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    """The full-page cache: tagged pages in a shared store, purged by tag after commits."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "alphanode.pagecache"
    label = "pagecache"
    verbose_name = "page cache"
