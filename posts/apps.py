from django.apps import AppConfig


class PostsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "posts"
    verbose_name = "alphanode posts"

    def ready(self):
        # Connects the page cache's posts_changed receiver.
        from posts import pagecache  # noqa: F401
