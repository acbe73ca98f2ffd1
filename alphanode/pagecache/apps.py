from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    """The full-page cache: tagged pages in a shared store, purged by tag after commits."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "alphanode.pagecache"
    label = "pagecache"
    verbose_name = "page cache"

    def ready(self):
        from django.core.signals import request_finished

        from alphanode.pagecache.purge import retry_failed_when_due

        # After the response went out: failed purges are retried by themselves once the store answers.
        request_finished.connect(retry_failed_when_due, dispatch_uid="alphanode-pagecache-retry")
