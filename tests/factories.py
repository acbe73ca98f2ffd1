"""Builders for tests: valid records and stored posts, all through the real write path."""

import copy
import json
from pathlib import Path

from posts import records, services
from posts.models import Post, Revision

SAMPLE = json.loads((Path(__file__).resolve().parent / "fixtures" / "seed-4577.json").read_text())


def make_record(number: int = 1, **overrides) -> dict:
    """A valid record like the sample, with its own source_id, reference and title."""
    record = copy.deepcopy(SAMPLE)
    record["title"] = f"{SAMPLE['title']} part {number}"
    record["reference"] = f"test-ref-{number:06d}"
    record["payload"]["source_id"] = f"test-{number:06d}"
    for key, value in overrides.items():
        record[key] = value
    return record


def write_records(*raw_records: dict, reason: str = Revision.Reason.IMPORT, **kwargs) -> services.WriteResult:
    """Validate and write records through services.posts_write, as the importer does."""
    prepared = [services.prepare_record(records.validate(record)) for record in raw_records]
    return services.posts_write(prepared, reason=reason, **kwargs)


def make_post(number: int = 1, **overrides) -> Post:
    """A stored, published post."""
    record = make_record(number, **overrides)
    write_records(record)
    return Post.objects.get(source_id=record["payload"]["source_id"])


def make_posts(count: int, start: int = 1, **overrides) -> list[Post]:
    """`count` stored, published posts numbered from `start`, written in one batch; oldest first."""
    records = [make_record(number, **overrides) for number in range(start, start + count)]
    write_records(*records)
    ids = [record["payload"]["source_id"] for record in records]
    return list(Post.objects.filter(source_id__in=ids).order_by("id"))


def make_draft(number: int = 1, **overrides) -> Post:
    """A stored post that is not published."""
    record = make_record(number, **overrides)
    write_records(record, new_state=Post.State.DRAFT)
    return Post.objects.get(source_id=record["payload"]["source_id"])


def edit_post(post: Post, *, author=None, **changes) -> services.WriteResult:
    """An editor's change through the write path, as the admin saves it (reason EDIT)."""
    from posts.exporting import record_of

    stored = Post.objects.with_record_parts().get(pk=post.pk)
    record = record_of(stored)
    record.update(changes)
    return write_records(
        record,
        reason=Revision.Reason.EDIT,
        author=author,
        expected_lock_versions={stored.source_id: stored.lock_version},
    )


PASSWORD = "a long test password"


def make_user(username: str, *groups: str, **fields):
    """A staff user in the given groups (Editors, Reviewers: see posts/roles.py)."""
    from django.apps import apps
    from django.contrib.auth.models import Group, User

    from posts import roles

    # The data migration made the groups, but a transactional test before this
    # one may have flushed them (permissions come back with post_migrate).
    roles.ensure_groups(apps)
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True, **fields)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


def form_data(form) -> dict:
    """The POST data a browser sends for a rendered form: its current values, textareas with CRLF."""
    from django import forms

    data = {}
    for bound in form:
        widget = bound.field.widget
        value = bound.value()
        if isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
            continue
        value = widget.format_value(value)
        if isinstance(value, list):
            value = value[0] if value else ""
        value = "" if value is None else str(value)
        if isinstance(widget, forms.Textarea):
            value = value.replace("\n", "\r\n")
        data[bound.html_name] = value
    return data


def changeform_data(response, **changes) -> dict:
    """The POST data of an admin change form as rendered (with its inlines), with `changes` applied."""
    data = form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    data["_save"] = "Save"
    return data
