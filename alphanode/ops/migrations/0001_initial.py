"""Import runs, request timings and deployments move here from posts, keeping their tables."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("posts", "0007_operations"),
    ]

    operations = [
        # The tables exist already (made by the posts app): only Django's model state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Deployment",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("release", models.CharField(max_length=100)),
                        ("commit", models.CharField(blank=True, max_length=64)),
                        (
                            "previous_release",
                            models.CharField(blank=True, max_length=100, verbose_name="previous release"),
                        ),
                        (
                            "action",
                            models.CharField(choices=[("deploy", "deploy"), ("rollback", "rollback")], max_length=20),
                        ),
                        (
                            "outcome",
                            models.CharField(
                                choices=[
                                    ("live", "live"),
                                    ("rolled-back", "smoke test failed, previous release restored"),
                                    ("failed", "failed"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("host", models.CharField(blank=True, max_length=200)),
                        ("started_at", models.DateTimeField()),
                        ("finished_at", models.DateTimeField(db_index=True)),
                        (
                            "migrations",
                            models.TextField(blank=True, help_text="The migration plan this deployment applied."),
                        ),
                        (
                            "changes",
                            models.TextField(blank=True, help_text="Commits since the previous release, one per line."),
                        ),
                        ("message", models.TextField(blank=True, help_text="What failed, when something did.")),
                    ],
                    options={
                        "db_table": "posts_deployment",
                        "ordering": ["-finished_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="ImportRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("started_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "status",
                            models.CharField(
                                choices=[("running", "running"), ("finished", "finished"), ("failed", "failed")],
                                default="running",
                                max_length=20,
                            ),
                        ),
                        ("sources", models.TextField(help_text="The paths given to the import, one per line.")),
                        ("dry_run", models.BooleanField(default=False)),
                        ("created", models.PositiveIntegerField(default=0)),
                        ("updated", models.PositiveIntegerField(default=0)),
                        ("unchanged", models.PositiveIntegerField(default=0)),
                        (
                            "held",
                            models.PositiveIntegerField(
                                default=0, help_text="Imports held for review (editor changed the post)."
                            ),
                        ),
                        ("rejected", models.PositiveIntegerField(default=0)),
                        ("seconds", models.FloatField(default=0)),
                        ("reject_file", models.CharField(blank=True, max_length=500)),
                        (
                            "error",
                            models.TextField(blank=True, help_text="Why the run stopped, when it failed as a whole."),
                        ),
                    ],
                    options={
                        "db_table": "posts_importrun",
                        "ordering": ["-started_at"],
                    },
                ),
                migrations.CreateModel(
                    name="RequestTiming",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("minute", models.DateTimeField(help_text="Start of the minute (UTC).")),
                        ("route", models.CharField(help_text="The URL pattern, not the path.", max_length=300)),
                        (
                            "worker",
                            models.CharField(help_text="host:pid:token of the process that measured.", max_length=200),
                        ),
                        ("count", models.PositiveIntegerField(default=0)),
                        (
                            "errors",
                            models.PositiveIntegerField(default=0, help_text="Responses with status 500 or above."),
                        ),
                        ("total_ms", models.FloatField(default=0)),
                        ("max_ms", models.FloatField(default=0)),
                        (
                            "buckets",
                            models.JSONField(
                                default=list, help_text="Request counts per duration bucket (timings.BOUNDS_MS)."
                            ),
                        ),
                    ],
                    options={
                        "db_table": "posts_requesttiming",
                        "ordering": ["-minute", "route"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("minute", "route", "worker"), name="requesttiming_minute_route_worker"
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
