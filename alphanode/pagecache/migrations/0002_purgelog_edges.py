"""The purge log records what each edge (Varnish, a CDN) purged, and which edges are still to purge."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pagecache", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="purgelog",
            name="edges",
            field=models.TextField(blank=True, help_text="Per edge (EDGE_PURGE_URLS): objects purged, or the error."),
        ),
        migrations.AddField(
            model_name="purgelog",
            name="edges_pending",
            field=models.TextField(blank=True, help_text="Edges still to purge (retried), one per line."),
        ),
    ]
