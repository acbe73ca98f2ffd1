"""Authorization in the admin: every URL and action refuses whoever lacks its permission; CSRF on every POST.

The URLs are not listed by hand: they are read from the admin site, so a new
admin page is covered the day it is added. Each one is requested as every kind
of user without the permission it needs, by GET and by a crafted POST (the
form a permitted user would send, valid), and must be refused without a write.
"""

import hashlib
from dataclasses import dataclass

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from taggit.models import Tag

from alphanode.ops.models import ImportRun
from alphanode.pagecache.models import PurgeLog
from posts.models import Post, ReviewNote, Revision
from tests.factories import changeform_data, edit_post, make_post, make_user

# Refusals are decided by permissions before any backend-specific query runs; the permitted paths run
# on PostgreSQL in test_admin.py and test_admin_review.py.
pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.same_on_every_backend]

DECISIONS = (
    "approve",
    "request_changes",
    "unpublish",
    "claim",
    "take_over",
    "release",
    "apply_import",
    "dismiss_import",
)


# Pages that write nothing whatever the method (a POST to a change list runs an action: each
# action needs its own permission, see the test of actions).
READ_ONLY = ("changelist", "history", "revisions", "upcoming", "article")


@dataclass
class AdminUrl:
    name: str  # admin:<app>_<model>_<suffix>
    model: type[models.Model]
    suffix: str
    kwargs: dict


def registered_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


def patterns_of(model_admin) -> list[URLPattern]:
    found = []
    for entry in model_admin.urls:
        if isinstance(entry, URLResolver):
            found.extend(entry.url_patterns)
        else:
            found.append(entry)
    return [pattern for pattern in found if pattern.name]


def admin_urls(objects: dict, revision: Revision) -> list[AdminUrl]:
    """Every named URL of every registered model admin, with its arguments filled in."""
    urls = []
    for model in registered_models():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        for pattern in patterns_of(admin.site.get_model_admin(model)):
            kwargs = {}
            for name in pattern.pattern.regex.groupindex:
                kwargs[name] = {"object_id": objects[model].pk, "revision_id": revision.pk, "id": objects[model].pk}[
                    name
                ]
            urls.append(AdminUrl(f"admin:{pattern.name}", model, pattern.name.removeprefix(prefix), kwargs))
    return urls


def permission_needed(url: AdminUrl, method: str) -> str:
    """The codename a user needs for this URL and method (the admin's own rules, stated plainly)."""
    model = url.model._meta.model_name
    if model == "reviewqueue":
        # The queue is readable by whoever may see posts; every decision needs review_post.
        return "posts.view_post" if method == "GET" or url.suffix in READ_ONLY else "posts.review_post"
    app = url.model._meta.app_label
    action = {
        "changelist": "view",
        "history": "view",
        "revisions": "view",
        "add": "add",
        "add_preview": "add",
        "delete": "delete",
        "preview": "change",
        "rollback": "change",
        "password_change": "change",
    }.get(url.suffix, "view" if method == "GET" else "change")
    if url.suffix in READ_ONLY:
        action = "view"
    return f"{app}.{action}_{model}"


def allowed(user, codename: str) -> bool:
    if codename == "posts.view_post":
        return (
            user.has_perm("posts.view_post") or user.has_perm("posts.change_post") or user.has_perm("posts.review_post")
        )
    view = codename.replace(".view_", ".change_")
    return user.has_perm(codename) or (codename.split(".")[1].startswith("view_") and user.has_perm(view))


def state() -> str:
    """A fingerprint of everything the admin can write."""
    parts = [
        LogEntry.objects.count(),
        list(Post.objects.order_by("pk").values_list("pk", "lock_version", "state", "slug", "claimed_by_id")),
        Revision.objects.count(),
        ReviewNote.objects.count(),
        PurgeLog.objects.count(),
        ImportRun.objects.count(),
        list(User.objects.order_by("pk").values_list("pk", "username", "password", "is_staff", "is_superuser")),
        list(Group.objects.order_by("pk").values_list("pk", "name")),
        list(Tag.objects.order_by("pk").values_list("pk", "name", "slug")),
        list(User.groups.through.objects.order_by("pk").values_list("user_id", "group_id")),
        list(User.user_permissions.through.objects.order_by("pk").values_list("user_id", "permission_id")),
        list(Group.permissions.through.objects.order_by("pk").values_list("group_id", "permission_id")),
        AccessAttempt.objects.count(),
        AccessLog.objects.count(),
        AccessFailureLog.objects.count(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@pytest.fixture
def site():
    """One object of every registered model, a superuser, and the users that lack permissions."""
    post = make_post(1)
    edit_post(post, summary="A second revision, to roll back from.")
    superuser = make_user("root", is_superuser=True)
    objects = {
        Post: post,
        apps.get_model("posts", "ReviewQueue"): post,
        PurgeLog: PurgeLog.objects.create(reason="seed", tags="post:1"),
        ImportRun: ImportRun.objects.create(sources="seed.jsonl", status=ImportRun.Status.FINISHED),
        User: superuser,
        Group: Group.objects.get(name="Editors"),
        Tag: Tag.objects.first(),
        AccessAttempt: AccessAttempt.objects.create(
            username="x",
            ip_address="192.0.2.1",
            user_agent="ua",
            http_accept="*/*",
            path_info="/",
            failures_since_start=1,
        ),
        AccessLog: AccessLog.objects.create(username="x", ip_address="192.0.2.1", user_agent="ua", http_accept="*/*"),
        AccessFailureLog: AccessFailureLog.objects.create(
            username="x", ip_address="192.0.2.1", user_agent="ua", http_accept="*/*", locked_out=False
        ),
    }
    missing = [model for model in registered_models() if model not in objects]
    assert not missing, f"give the authorization suite an object of {missing}"
    users = {
        "staff without permissions": make_user("nobody"),
        "editor": make_user("ed", "Editors"),
        "reviewer": make_user("rita", "Reviewers"),
        "not staff, every permission": make_user("outsider", "Editors", "Reviewers"),
    }
    User.objects.filter(username="outsider").update(is_staff=False)
    users["not staff, every permission"].is_staff = False
    revision = post.revisions.order_by("pk").first()
    return superuser, objects, users, revision


def crafted_post(root: Client, url: AdminUrl, path: str, objects: dict, revision: Revision) -> dict:
    """What a permitted user would POST here: the form as rendered for a superuser, valid as it is."""
    if url.suffix == "delete":
        return {"post": "yes"}
    if url.model._meta.model_name == "reviewqueue" and url.suffix == "change":
        return {"decision": "approve", "note": "crafted", "lock_version": objects[Post].lock_version}
    if url.suffix == "rollback":
        return {"lock_version": Post.objects.get().lock_version}
    page = root.get(path)
    if page.status_code == 200 and page.context and "adminform" in page.context:
        return changeform_data(page, **({"summary": "crafted"} if url.model is Post else {}))
    return {"crafted": "1"}


def refused(response) -> bool:
    if response.status_code == 302:
        return response["Location"].startswith("/admin/login/")
    return response.status_code in (403, 404, 405)


def test_every_admin_url_refuses_users_without_its_permission(site):
    superuser, objects, users, revision = site
    root = Client()
    root.force_login(superuser)
    urls = admin_urls(objects, revision)
    assert len(urls) >= 40  # every model admin's pages, plus the post admin's own
    anonymous = Client()
    checked = 0
    for url in urls:
        path = reverse(url.name, kwargs=url.kwargs)
        data = crafted_post(root, url, path, objects, revision)
        for label, user in [("anonymous", None), *users.items()]:
            client = anonymous if user is None else Client()
            if user is not None:
                client.force_login(user)
            for method in ("GET", "POST"):
                if user is not None and user.is_staff and allowed(user, permission_needed(url, method)):
                    continue
                before = state()
                response = client.get(path) if method == "GET" else client.post(path, data)
                assert refused(response), (label, method, path, response.status_code)
                assert state() == before, (label, method, path, "wrote something")
                checked += 1
    assert checked > 300


def test_every_action_refuses_users_without_its_permission(site):
    superuser, objects, users, _ = site
    checked = 0
    for model in registered_models():
        model_admin = admin.site.get_model_admin(model)
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        request = Client()
        request.force_login(superuser)
        every_action = list(model_admin.get_actions(request.get(changelist).wsgi_request))
        for label, user in users.items():
            client = Client()
            client.force_login(user)
            offered = client.get(changelist)
            if offered.status_code != 200:
                assert refused(offered), (label, changelist)
                available = set()
            else:
                available = set(model_admin.get_actions(offered.wsgi_request))
            for action in every_action:
                if action in available and user.is_staff:
                    continue
                before = state()
                response = client.post(
                    changelist, {"action": action, "_selected_action": [objects[model].pk], "post": "yes"}
                )
                assert response.status_code in (200, 302, 403, 404), (label, action, response.status_code)
                assert state() == before, (label, model.__name__, action, "ran without the permission")
                checked += 1
    assert checked >= 20


def test_review_decisions_need_review_post_by_url(site):
    _, objects, users, _ = site
    post = objects[Post]
    path = reverse("admin:posts_reviewqueue_change", args=[post.pk])
    for label in ("staff without permissions", "editor", "not staff, every permission"):
        client = Client()
        client.force_login(users[label])
        for decision in DECISIONS:
            before = state()
            response = client.post(path, {"decision": decision, "note": "x", "lock_version": post.lock_version})
            assert refused(response), (label, decision, response.status_code)
            assert state() == before, (label, decision)


def test_every_admin_post_needs_a_csrf_token(site):
    superuser, objects, _, revision = site
    root = Client()
    root.force_login(superuser)
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(superuser)
    paths = [reverse(url.name, kwargs=url.kwargs) for url in admin_urls(objects, revision)]
    paths += ["/admin/login/", "/admin/logout/", "/admin/password_change/"]
    for url in admin_urls(objects, revision):
        path = reverse(url.name, kwargs=url.kwargs)
        data = crafted_post(root, url, path, objects, revision)
        before = state()
        response = guarded.post(path, data)
        assert response.status_code == 403, (path, response.status_code)
        assert b"CSRF" in response.content
        assert state() == before, path
    for path in ("/admin/login/", "/admin/logout/", "/admin/password_change/"):
        assert guarded.post(path, {"username": "root", "password": "x"}).status_code == 403, path
    # The same requests with the token go through (the check is what refused them).
    guarded.get("/admin/")
    token = guarded.cookies["csrftoken"].value
    assert guarded.post("/admin/logout/", {"csrfmiddlewaretoken": token}).status_code == 200
