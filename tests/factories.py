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
