"""The `_schedule` field: a post's schedule next to its record, for `export_posts --schedule` and the importer.

It is not part of the record (docs/post-format.md): the record format, its
hash and revision snapshots stay as they are, and an export without
`--schedule` has no such field. The importer accepts it on any record:

    {..., "_schedule": {"publish_at": "2026-12-01T09:00:00+01:00", "unpublish_at": null}}
"""

import datetime

from posts.records import RecordError, source_id_of

FIELD = "_schedule"
KEYS = ("publish_at", "unpublish_at")


def split_schedule(obj):
    """(the record without `_schedule`, the schedule as aware datetimes or None); RecordError when malformed."""
    if not isinstance(obj, dict) or FIELD not in obj:
        return obj, None
    value = obj[FIELD]
    record = {key: item for key, item in obj.items() if key != FIELD}

    def error(field: str, expected: str, found: str) -> RecordError:
        return RecordError(field=field, expected=expected, found=found, source_id=source_id_of(record))

    if not isinstance(value, dict) or set(value) - set(KEYS):
        raise error(FIELD, f"an object with {' and/or '.join(KEYS)}", repr(value)[:200])
    schedule = {}
    for key in KEYS:

        def malformed(found: str, key: str = key) -> RecordError:
            return error(f"{FIELD}.{key}", "an ISO 8601 time with its UTC offset", found)

        schedule[key] = None if value.get(key) is None else parse_time(value[key], error=malformed)
    if schedule["publish_at"] and schedule["unpublish_at"] and schedule["unpublish_at"] <= schedule["publish_at"]:
        raise error(f"{FIELD}.unpublish_at", "a time after publish_at", value["unpublish_at"])
    return record, schedule


def parse_time(text, *, error) -> datetime.datetime:
    """An aware datetime from ISO 8601 text with an offset; error(found) builds the exception otherwise."""
    try:
        value = datetime.datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise error(repr(text)[:200])
    return value


def schedule_value(post) -> dict | None:
    """The `_schedule` an export writes for a post (None: the post has no schedule)."""
    if post.publish_at is None and post.unpublish_at is None:
        return None
    return {key: getattr(post, key).isoformat() if getattr(post, key) else None for key in KEYS}
