"""An index for the change list's "needs human review" filter, built without blocking writes.

On PostgreSQL the index is built CONCURRENTLY (posts/concurrent_indexes.py).
"""

from django.db import migrations, models

from posts.concurrent_indexes import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("posts", "0012_labels_and_help_texts"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="post",
            index=models.Index(
                condition=models.Q(("needs_human_review", True)),
                fields=["-updated_at", "id"],
                name="post_flagged_updated",
            ),
        ),
    ]
