"""PostgreSQL only: no planner statistics on the large text columns no query filters, joins or sorts on.

ANALYZE reads a sample of every column; for the bodies, the rendered HTML,
the stored fragments, the JSON parts and the revision snapshots that is most
of its work (measured on 20,000 posts: 2.7 s for posts_post, 1.6 s of it on
these columns), and the planner never uses the result: queries reach posts
by id, slug, tags, dates, flags and the search vector, whose statistics stay.
import_posts analyzes after a bulk load (posts/bulk.refresh_statistics), and
autovacuum does the same cheaper work. Statistics target 0 makes ANALYZE skip
a column; -1 (the reverse) puts back the server's default.
"""

from django.db import migrations

COLUMNS = {
    "posts_post": [
        "summary",
        "body",
        "body_html",
        "ai_outline",
        "ai_brief",
        "checklist",
        "payload",
        "notes",
        "extra",
        "search_terms",
        "meta_html",
        "tags_html",
        "page_facts",
    ],
    "posts_revision": ["snapshot"],
}


def _set_statistics(target: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        for table, columns in COLUMNS.items():
            changes = ", ".join(f"ALTER COLUMN {quote(column)} SET STATISTICS {target}" for column in columns)
            schema_editor.execute(f"ALTER TABLE {quote(table)} {changes}")

    return apply


class Migration(migrations.Migration):
    dependencies = [("posts", "0014_sitemap_page_index")]

    operations = [migrations.RunPython(_set_statistics(0), _set_statistics(-1))]
