"""Migration operations that build and drop indexes without blocking writes on PostgreSQL.

A plain CREATE INDEX on a million posts blocks every write (imports,
editors, reviewers) for the whole build; PostgreSQL's CONCURRENTLY does not.
SQLite has no such option and no such problem, so there they are the plain
operations. A migration using them must set `atomic = False`.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class _PlainElsewhere:
    """A PostgreSQL CONCURRENTLY operation that is its `plain` form on other databases."""

    plain: type[migrations.operations.base.Operation]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrentlyOnPostgreSQL(_PlainElsewhere, AddIndexConcurrently):
    plain = migrations.AddIndex


class RemoveIndexConcurrentlyOnPostgreSQL(_PlainElsewhere, RemoveIndexConcurrently):
    plain = migrations.RemoveIndex
