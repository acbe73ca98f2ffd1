"""The Editors and Reviewers groups with their permissions (see posts/roles.py).

Permissions are normally created after all migrations ran (post_migrate), so
on a fresh database they don't exist yet here: create_permissions makes them
first, for every app, from the historical models. The groups come from
posts.roles so that this migration and the test builders agree; when the
roles change, a new migration calls ensure_groups again.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from posts import roles


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module, and create_permissions skips those.
        models_module, app_config.models_module = getattr(app_config, "models_module", None), True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    roles.ensure_groups(apps)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=roles.GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0005_editorial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
