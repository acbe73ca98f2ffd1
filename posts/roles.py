"""The editorial roles: the groups and what their members may do.

- Editors write posts (add, change, view) and can look at the review queue;
  they cannot approve: clearing "needs human review" is a reviewer's call.
- Reviewers view posts and review them (posts.review_post: approve, request
  changes, unpublish, claim, settle held imports).

A person who does both is in both groups. Superusers can do everything.
"""

GROUPS = {
    "Editors": ("add_post", "change_post", "view_post"),
    "Reviewers": ("view_post", "review_post"),
}


def ensure_groups(apps) -> None:
    """Create the groups with their permissions (the permissions must exist already).

    `apps` is a registry: a migration's historical one or django.apps.apps.
    """
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = list(permission_model.objects.filter(content_type__app_label="posts", codename__in=codenames))
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise LookupError(f"group {name}: permissions {', '.join(sorted(missing))} do not exist yet")
        group.permissions.set(permissions)
