"""Import runs record their host and process id, so a run whose process died can be found."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="host",
            field=models.CharField(
                blank=True, db_default="", help_text="The machine the import ran on.", max_length=255
            ),
        ),
        migrations.AddField(
            model_name="importrun",
            name="pid",
            field=models.PositiveIntegerField(blank=True, help_text="Its process id there.", null=True),
        ),
    ]
