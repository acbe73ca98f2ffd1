"""The Editors and Reviewers groups with their permissions.

Permissions are normally created after all migrations ran (post_migrate), so
on a fresh database they don't exist yet here: create_permissions makes them
first, for every app, from the historical models.

- Editors write posts (add, change, view) and can see the review queue; they
  cannot approve: clearing "needs human review" is the reviewers' decision.
- Reviewers view posts and review them (posts.review_post: approve, request
  changes, unpublish, claim, settle held imports). A person who does both is
  in both groups.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Editors": ["add_post", "change_post", "view_post"],
    "Reviewers": ["view_post", "review_post"],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label="posts", codename__in=codenames)
        found = {permission.codename for permission in permissions}
        missing = set(codenames) - found
        if missing:
            raise RuntimeError(f"permissions missing for group {name}: {', '.join(sorted(missing))}")
        group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0005_editorial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
