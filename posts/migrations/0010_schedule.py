"""Scheduled publishing: Post.publish_at / unpublish_at, their indexes, and the "schedule" revision reason."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0009_review_workflow"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="publish_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Goes live at this time (the site's time zone).",
                null=True,
                verbose_name="publish at",
            ),
        ),
        migrations.AddField(
            model_name="post",
            name="unpublish_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Comes down at this time (the site's time zone).",
                null=True,
                verbose_name="unpublish at",
            ),
        ),
        migrations.AlterField(
            model_name="revision",
            name="reason",
            field=models.CharField(
                choices=[
                    ("import", "import"),
                    ("edit", "admin edit"),
                    ("rollback", "rollback"),
                    ("review", "review"),
                    ("schedule", "scheduled publication"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                condition=models.Q(("publish_at__isnull", False)), fields=["publish_at"], name="post_publish_at"
            ),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                condition=models.Q(("unpublish_at__isnull", False)), fields=["unpublish_at"], name="post_unpublish_at"
            ),
        ),
    ]
