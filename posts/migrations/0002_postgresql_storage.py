"""PostgreSQL only: lz4 compression for the large text columns.

With the default pglz, compressing ~4 KB bodies used most of the server's CPU
during bulk loads; lz4 loaded ~2.5x the rows/s on this kind of machine
(docs/performance.md). Servers built without lz4 keep pglz.
"""

from django.db import migrations

LARGE_COLUMNS = [
    ("posts_post", "body"),
    ("posts_post", "body_html"),
    ("posts_revision", "snapshot"),
]


def use_lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in LARGE_COLUMNS:
        schema_editor.execute(
            "DO $$ BEGIN "
            f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4; "
            "EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL; "
            "END $$"
        )


class Migration(migrations.Migration):
    dependencies = [("posts", "0001_initial")]
    operations = [migrations.RunPython(use_lz4, migrations.RunPython.noop)]
