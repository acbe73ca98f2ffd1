"""Topic pages and search: topic_slug and search_terms columns, their indexes, the PostgreSQL search vector.

On PostgreSQL, `search_vector` is a stored generated tsvector column with a
GIN index; Django's model does not declare it (SQLite has no tsvector), and
posts/search.py reads it with SQL. Its expression must stay in step with
`posts.search.IDENTIFIER_REWRITES` (tests/test_search.py checks both ends).
Existing posts get topic_slug and search_terms filled in from their stored
tags and entities, a thousand at a time.
"""

import re

from django.db import migrations, models
from django.utils.text import slugify

# A frozen copy of posts.search.IDENTIFIER_REWRITES at the time of this migration.
IDENTIFIER_REWRITES = (("c++", " cplusplus "), ("c#", " csharp "), ("f#", " fsharp "))
WEIGHTED_COLUMNS = (("title", "A"), ("search_terms", "B"), ("summary", "C"), ("left(body, 100000)", "D"))


def _document(column: str) -> str:
    expression = f"lower(coalesce({column}, ''))"
    for identifier, word in IDENTIFIER_REWRITES:
        expression = f"replace({expression}, '{identifier}', '{word}')"
    return expression


SEARCH_VECTOR = " || ".join(
    f"setweight(to_tsvector('english'::regconfig, {_document(column)}), '{weight}')"
    for column, weight in WEIGHTED_COLUMNS
)


def _search_terms(topic: str, names: list[str]) -> str:
    """A frozen copy of posts.search.search_terms, from stored rows."""
    terms = []
    for name in [topic, *names]:
        terms.append(name)
        parts = [part for part in re.split(r"[./:_\-]+", name) if part]
        if len(parts) > 1:
            terms.append(" ".join(parts))
    return "\n".join(dict.fromkeys(terms))


def fill_derived_columns(apps, schema_editor):
    Post = apps.get_model("posts", "Post")
    StackTag = apps.get_model("posts", "StackTag")
    ToolTag = apps.get_model("posts", "ToolTag")
    PostEntity = apps.get_model("posts", "PostEntity")
    last_id = 0
    while True:
        posts = list(Post.objects.filter(pk__gt=last_id).order_by("pk").only("id", "topic")[:1000])
        if not posts:
            return
        ids = [post.pk for post in posts]
        names = {post_id: [] for post_id in ids}
        for model, column, name in (
            (StackTag, "content_object_id", "tag__name"),
            (ToolTag, "content_object_id", "tag__name"),
            (PostEntity, "post_id", "entity__name"),
        ):
            rows = model.objects.filter(**{f"{column}__in": ids}).order_by(column, "position")
            for post_id, value in rows.values_list(column, name):
                names[post_id].append(value)
        for post in posts:
            post.topic_slug = slugify(post.topic)[:300].strip("-")
            post.search_terms = _search_terms(post.topic, names[post.pk])
        Post.objects.bulk_update(posts, ["topic_slug", "search_terms"], batch_size=500)
        last_id = ids[-1]


def add_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE posts_post ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED"
    )
    schema_editor.execute("CREATE INDEX post_search ON posts_post USING gin (search_vector)")


def drop_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE posts_post DROP COLUMN search_vector")


class Migration(migrations.Migration):
    dependencies = [("posts", "0003_import_runs_and_purge_log")]

    operations = [
        migrations.AddField(
            model_name="post",
            name="search_terms",
            field=models.TextField(
                blank=True,
                default="",
                editable=False,
                help_text="Topic, tags and entity names, for search.",
                verbose_name="search terms",
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="topic_slug",
            field=models.SlugField(
                blank=True,
                db_index=False,
                default="",
                editable=False,
                help_text="The topic page's slug.",
                max_length=300,
                verbose_name="topic slug",
            ),
        ),
        migrations.RunPython(fill_derived_columns, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                condition=models.Q(("state", "published")),
                fields=["topic_slug", "-published_at", "-id"],
                name="post_topic_latest",
            ),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                condition=models.Q(("needs_human_review", False), ("state", "published")),
                fields=["id"],
                name="post_indexable",
            ),
        ),
        migrations.RunPython(add_search_vector, drop_search_vector),
    ]
