from django.db import migrations, models


def render_fragments(apps, schema_editor):
    """Store the new article fragments of every existing post (see posts/fragments.py)."""
    from posts.services import posts_render_fragments

    posts_render_fragments(model=apps.get_model("posts", "Post"))


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0010_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="meta_html",
            field=models.TextField(
                blank=True,
                default="",
                editable=False,
                help_text="The article's post meta box.",
                verbose_name="meta box HTML",
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="page_facts",
            field=models.JSONField(
                blank=True,
                default=dict,
                editable=False,
                help_text="Keywords, image URL, tag and entity ids the article needs.",
                verbose_name="page facts",
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="tags_html",
            field=models.TextField(
                blank=True,
                default="",
                editable=False,
                help_text="The article's Stack, Tools, About lists.",
                verbose_name="tag lists HTML",
            ),
        ),
        migrations.RunPython(render_fragments, migrations.RunPython.noop, elidable=True),
    ]
