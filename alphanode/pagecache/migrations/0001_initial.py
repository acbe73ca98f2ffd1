"""The purge log moves here from posts, keeping its table."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("posts", "0007_operations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist already (made by the posts app): only Django's model state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PurgeLog",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("reason", models.CharField(max_length=200)),
                        ("tags", models.TextField(blank=True, help_text="Cache tags purged, one per line.")),
                        (
                            "routes",
                            models.TextField(
                                blank=True, help_text="Cached routes removed (at most 1,000), one per line."
                            ),
                        ),
                        ("pages", models.PositiveIntegerField(default=0, help_text="Cached pages removed.")),
                        ("succeeded", models.BooleanField(default=True)),
                        ("attempts", models.PositiveSmallIntegerField(default=1)),
                        ("error", models.TextField(blank=True)),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "posts_purgelog",
                        "ordering": ["-created_at"],
                        "indexes": [models.Index(fields=["succeeded", "-created_at"], name="purgelog_failed_recent")],
                    },
                ),
            ],
        ),
    ]
