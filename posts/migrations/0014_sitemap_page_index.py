"""The sitemap's index: indexable posts by sitemap page (a block of ids) and newest change first.

It replaces `post_indexable` (indexable posts by id): a page is read from the
new index as fast, and the sitemap index finds each page's lastmod with one
probe instead of reading every post (posts/sitemaps.py). Built and dropped
CONCURRENTLY on PostgreSQL (posts/concurrent_indexes.py). The block size is
querysets.SITEMAP_PAGE_SIZE at the time of this migration.
"""

from django.db import migrations, models
from django.db.models.expressions import CombinedExpression

from posts.concurrent_indexes import AddIndexConcurrentlyOnPostgreSQL, RemoveIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("posts", "0013_flagged_updated_index"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="post",
            index=models.Index(
                CombinedExpression(CombinedExpression(models.F("id"), "-", models.Value(1)), "/", models.Value(10000)),
                models.OrderBy(models.F("updated_at"), descending=True),
                condition=models.Q(("needs_human_review", False), ("state", "published")),
                name="post_sitemap_page",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgreSQL(model_name="post", name="post_indexable"),
    ]
