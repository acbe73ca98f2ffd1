"""Review workflow: per-post revision numbers, and "changed since approval" as a reason to review.

Existing revisions are numbered per post in the order they were written
(created_at, id) with one UPDATE; the review-queue indexes are rebuilt with the
new reason in their condition.
"""

from django.db import migrations, models

NUMBER_EXISTING = """
UPDATE posts_revision SET number = (
    SELECT COUNT(*) FROM posts_revision AS earlier
    WHERE earlier.post_id = posts_revision.post_id
      AND (earlier.created_at < posts_revision.created_at
           OR (earlier.created_at = posts_revision.created_at AND earlier.id <= posts_revision.id))
)
"""
QUEUE = models.Q(
    ("needs_human_review", True),
    ("pending_import", True),
    models.Q(("ai_generated_style", True), ("reviewed_by__isnull", True)),
    ("changed_since_approval", True),
    _connector="OR",
)


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0008_operations_and_pagecache_apps"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="post", name="post_review_queue"),
        migrations.RemoveIndex(model_name="post", name="post_review_queue_waiting"),
        migrations.AddField(
            model_name="post",
            name="changed_since_approval",
            field=models.BooleanField(
                default=False,
                help_text="Readers see content (title, summary, body, figures, code) no reviewer approved yet.",
            ),
        ),
        migrations.AddField(
            model_name="revision",
            name="number",
            field=models.PositiveIntegerField(help_text="The post's own revision count: 1, 2, 3, ...", null=True),
        ),
        migrations.RunSQL(NUMBER_EXISTING, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="revision",
            name="number",
            field=models.PositiveIntegerField(help_text="The post's own revision count: 1, 2, 3, ..."),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(condition=QUEUE, fields=["-view_count", "id"], name="post_review_queue"),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(condition=QUEUE, fields=["flagged_at", "id"], name="post_review_queue_waiting"),
        ),
        migrations.AlterField(
            model_name="reviewnote",
            name="decision",
            field=models.CharField(
                choices=[
                    ("approved", "approved"),
                    ("changes_requested", "changes requested"),
                    ("unpublished", "unpublished"),
                    ("published", "published"),
                    ("import_applied", "held import applied"),
                    ("import_dismissed", "held import dismissed"),
                ],
                max_length=30,
            ),
        ),
        migrations.AddConstraint(
            model_name="revision",
            constraint=models.UniqueConstraint(fields=("post", "number"), name="revision_number_unique"),
        ),
    ]
