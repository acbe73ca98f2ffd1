"""Import runs, request timings and deployments now belong to ops, the purge log to pagecache.

Only Django's model state moves: the tables keep their names and rows. The
content types follow the models, so permissions and admin log entries that
point at them stay attached.
"""

from django.db import migrations

MOVED = {"importrun": "ops", "requesttiming": "ops", "deployment": "ops", "purgelog": "pagecache"}


def move_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        if not content_type.objects.filter(app_label=app_label, model=model).exists():
            content_type.objects.filter(app_label="posts", model=model).update(app_label=app_label)


def restore_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        content_type.objects.filter(app_label=app_label, model=model).update(app_label="posts")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("posts", "0007_operations"),
        ("ops", "0001_initial"),
        ("pagecache", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Deployment"),
                migrations.DeleteModel(name="ImportRun"),
                migrations.DeleteModel(name="PurgeLog"),
                migrations.DeleteModel(name="RequestTiming"),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
