"""An index for the change list's "needs human review" filter, built without blocking writes.

On PostgreSQL the index is built CONCURRENTLY: a plain CREATE INDEX on a
million posts would block every write (imports, editors, reviewers) for the
whole build. SQLite has no such option and no such problem.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


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
