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


def make_user(username: str, *groups: str, **fields):
    """A staff user in the given groups (Editors, Reviewers: made by the data migration)."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=username, password="a long test password", is_staff=True, **fields)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user
