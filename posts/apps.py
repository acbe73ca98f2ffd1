from django.apps import AppConfig


class PostsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "posts"
    verbose_name = "alphanode posts"

    def ready(self):
        # Connects the receiver that purges the page cache when posts change,
        # and registers the any_of lookup.
        from posts import cache_tags, lookups  # noqa: F401
