"""The post record format: the schema, validation errors, and the canonical form.

One format everywhere: `import_posts` reads it, `export_posts` writes it, and a
revision's snapshot is one record. The schema below is the contract of
docs/post-format.md, declared with msgspec so that the importer and the admin
form validate with the same rules and report the same messages.

A record's *canonical form* is a dict with every field of the spec, in the
spec's order: absent optional values are None (lists are []), flags carry all
four known keys. Two records with the same canonical form are the same content,
and `record_hash` of it decides whether an import changes anything.
"""

import datetime
import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct
from pygments.lexers import find_lexer_class_by_name
from pygments.util import ClassNotFound

SNAKE_CASE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
HTTP_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+[^\s]*$"
SHORT_WORD = r"^[A-Za-z][A-Za-z0-9_-]{0,49}$"
DOTTED_NUMBERS = r"^[0-9]+(\.[0-9]+)*$"
HEX = r"^[0-9a-fA-F]+$"
NO_OUTER_SPACE = r"^\S(.*\S)?$"
# What each pattern means, for error messages a person can act on.
PATTERN_NAMES = {
    SNAKE_CASE: "a snake_case key",
    HTTP_URL: "an http:// or https:// URL",
    SHORT_WORD: "a short word (letters, digits, - or _)",
    DOTTED_NUMBERS: "dotted numbers such as 1.5.8",
    HEX: "hex digits",
    NO_OUTER_SPACE: "text without leading or trailing spaces",
}

# Every value of a record, known field or kept extra, must survive a round trip
# through PostgreSQL (text and jsonb refuse NUL and lone surrogates) and any JSON
# reader (integers beyond 64 bits, non-finite numbers); nesting is capped so a
# hostile record cannot exhaust the stack anywhere it is walked.
MAX_DEPTH = 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_LIMIT = 1e16
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Text300 = Annotated[str, Meta(min_length=1, max_length=300)]
TagName = Annotated[str, Meta(min_length=1, max_length=100)]
Percent = Annotated[int, Meta(ge=0, le=100)]


class Score(Struct, forbid_unknown_fields=True):
    quality: Percent | None = None
    freshness: Percent | None = None
    depth: Percent | None = None
    clarity: Percent | None = None


class RevisionInfo(Struct, forbid_unknown_fields=True):
    status: Annotated[str, Meta(pattern=SHORT_WORD)] | None = None
    version: Annotated[str, Meta(pattern=DOTTED_NUMBERS, max_length=50)] | None = None
    last_reviewed: datetime.date | None = None


class Flags(Struct, forbid_unknown_fields=True):
    ai_generated_style: bool = False
    has_images: bool = False
    image_heavy: bool = False
    needs_human_review: bool = False


class EntityRecord(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    type: Annotated[str, Meta(min_length=1, max_length=100)]


class ImageSourceRecord(Struct, forbid_unknown_fields=True):
    source: Annotated[str, Meta(min_length=1, max_length=300)]
    url: Annotated[str, Meta(pattern=HTTP_URL, max_length=2000)]
    caption: Annotated[str, Meta(max_length=2000)]


class Payload(Struct, forbid_unknown_fields=True):
    """The known payload keys; others are kept in order as extras (see `_split_payload`)."""

    source_id: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_OUTER_SPACE)]
    generator: Annotated[str, Meta(max_length=300)] | None = None
    paragraphs: Annotated[int, Meta(ge=0)] | None = None
    scenario: Annotated[str, Meta(max_length=2000)] | None = None
    seed: int | None = None


class Record(Struct, forbid_unknown_fields=True, kw_only=True):
    """One post as the generator sends it, fields in the spec's order (kw_only lets required ones sit anywhere)."""

    title: Text300
    topic: Text300
    summary: Annotated[str, Meta(max_length=2000)]
    body: Annotated[str, Meta(max_length=1_000_000)]
    ai_outline: dict[Annotated[str, Meta(pattern=SNAKE_CASE, max_length=100)], str] | None = None
    ai_brief: Annotated[str, Meta(max_length=4000)] | None = None
    stack: list[TagName] = []
    tools: list[TagName] = []
    code_language: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    difficulty: Literal["beginner", "intermediate", "advanced"] | None = None
    reading_time: Annotated[int, Meta(ge=0, le=600)] | None = None
    view_count: Annotated[int, Meta(ge=0, le=2**63 - 1)] | None = None
    score: Score | None = None
    revision: RevisionInfo | None = None
    reference: Annotated[str, Meta(min_length=1, max_length=200)]
    hash: Annotated[str, Meta(pattern=HEX, max_length=128)] | None = None
    flags: Flags | None = None
    checklist: list[Annotated[str, Meta(max_length=1000)]] = []
    entities: list[EntityRecord] = []
    image_sources: list[ImageSourceRecord] = []
    payload: dict[str, Any]
    notes: list[Annotated[str, Meta(max_length=4000)]] = []


# The spec's field order: the canonical form, the export, and the meta box follow it.
FIELDS = Record.__struct_fields__
FLAG_NAMES = Flags.__struct_fields__


@dataclass
class RecordError(Exception):
    """Why one record was rejected; `retryable` says whether sending it again can succeed."""

    field: str
    expected: str
    found: str
    retryable: bool = False
    source_id: str | None = None
    location: str = ""

    def __str__(self):
        where = f"{self.location}: " if self.location else ""
        who = f"source_id {self.source_id}: " if self.source_id else ""
        retry = "retry may succeed" if self.retryable else "fix the record; retrying as is will fail again"
        return f"{where}{who}{self.field}: expected {self.expected}, found {self.found} ({retry})"

    def __reduce__(self):
        # Crosses process boundaries (import workers); Exception's default pickles only args.
        return (
            RecordError,
            tuple(
                self.as_dict()[name] for name in ("field", "expected", "found", "retryable", "source_id", "location")
            ),
        )

    def as_dict(self) -> dict:
        return {
            "location": self.location,
            "source_id": self.source_id,
            "field": self.field,
            "expected": self.expected,
            "found": self.found,
            "retryable": self.retryable,
        }


def describe(value: Any, limit: int = 80) -> str:
    """A short, readable rendering of a found value for an error message."""
    if value is _MISSING:
        return "nothing (field missing)"
    text = msgspec.json.encode(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_MISSING = object()
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_AT = re.compile(r" - at `(?:key` in `)?\$(?P<path>[^`]*)`$")


def _value_at(obj: Any, path: str) -> Any:
    for name, index in _PATH_PART.findall(path):
        try:
            obj = obj[name] if name else obj[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return obj


def _error_from_msgspec(error: msgspec.ValidationError, obj: dict, prefix: str = "") -> RecordError:
    """Turn msgspec's message into field / expected / found."""
    message = str(error)
    match = _AT.search(message)
    path = match.group("path") if match else ""
    message = message[: match.start()] if match else message
    field = (prefix + path).lstrip(".") or "(record)"
    found = describe(_value_at(obj, path))
    if message.startswith("Object missing required field `"):
        name = message.split("`")[1]
        field = f"{field}.{name}" if field != "(record)" else name
        return RecordError(field=field, expected="a value (required field)", found="nothing (field missing)")
    if message.startswith("Object contains unknown field `"):
        name = message.split("`")[1]
        field = f"{field}.{name}" if field != "(record)" else name
        return RecordError(field=field, expected="a known field name", found=f"unknown field {name!r}")
    expected = message.removeprefix("Expected ").split(", got ")[0]
    expected = expected.replace("`", "").replace(" | null", "")
    if "key` in `" in str(error):
        field += " (key)"
        found = "a key that does not match"
    if " matching regex '" in expected:
        pattern = expected.split(" matching regex '", 1)[1][:-1].replace("\\\\", "\\")
        expected = PATTERN_NAMES.get(pattern, expected)
    if message.startswith("Invalid RFC3339 encoded date"):
        expected = "an ISO date YYYY-MM-DD"
    elif message.startswith("Invalid enum value"):
        expected = "one of beginner, intermediate, advanced"
    return RecordError(field=field, expected=expected, found=found)


def source_id_of(obj: Any) -> str | None:
    """The record's source_id if it can be read, for error reports."""
    if isinstance(obj, dict) and isinstance(obj.get("payload"), dict):
        source_id = obj["payload"].get("source_id")
        if isinstance(source_id, str) and _printable(source_id):
            return source_id
    return None


@functools.lru_cache(maxsize=512)
def is_known_language(name: str) -> bool:
    try:
        find_lexer_class_by_name(name)
    except ClassNotFound:
        return False
    return True


def validate(obj: Any, *, keep_unknown: bool = False) -> dict:
    """Validate one decoded record and return its canonical form, or raise RecordError."""
    if not isinstance(obj, dict):
        raise RecordError(field="(record)", expected="a JSON object", found=describe(obj))
    if not values_are_storable(obj):
        try:
            check_values(obj)
        except RecordError as error:
            raise _with_source(error, obj) from None
    extra = {}
    unknown = [key for key in obj if key not in Record.__struct_fields__]
    if unknown:
        if not keep_unknown:
            names = ", ".join(unknown)
            raise RecordError(
                field=unknown[0],
                expected="only the fields of the record format (or import with --keep-unknown)",
                found=f"unknown field(s) {names}",
                source_id=source_id_of(obj),
            )
        extra = {key: obj[key] for key in unknown}
        obj = {key: value for key, value in obj.items() if key not in extra}
    try:
        record = msgspec.convert(obj, Record)
    except msgspec.ValidationError as error:
        raise _with_source(_error_from_msgspec(error, obj), obj) from None
    payload_known, payload_extra = _split_payload(record.payload)
    try:
        payload = msgspec.convert(payload_known, Payload)
    except msgspec.ValidationError as error:
        raise _with_source(_error_from_msgspec(error, payload_known, prefix="payload"), obj) from None
    _check_rules(record)
    return _canonical(record, payload, payload_extra, extra)


def _with_source(error: RecordError, obj: dict) -> RecordError:
    return RecordError(**{**error.as_dict(), "source_id": source_id_of(obj), "location": error.location})


def _split_payload(payload: dict) -> tuple[dict, dict]:
    known = {key: value for key, value in payload.items() if key in Payload.__struct_fields__}
    extra = {key: value for key, value in payload.items() if key not in Payload.__struct_fields__}
    return known, extra


def _check_rules(record: Record) -> None:
    """The rules a type cannot say."""
    for name in ("title", "topic"):
        if not getattr(record, name).strip():
            raise RecordError(
                field=name,
                expected="1-300 characters after trimming",
                found="only whitespace",
                source_id=record.payload.get("source_id"),
            )
    if record.code_language is not None and not is_known_language(record.code_language):
        raise RecordError(
            field="code_language",
            expected="a Pygments lexer name (python, go, sql, ...)",
            found=describe(record.code_language),
            source_id=record.payload.get("source_id"),
        )


def _canonical(record: Record, payload: Payload, payload_extra: dict, extra: dict) -> dict:
    canonical = {name: getattr(record, name) for name in FIELDS}
    canonical["score"] = _object_or_none(record.score)
    canonical["revision"] = _object_or_none(record.revision)
    canonical["flags"] = msgspec.to_builtins(record.flags or Flags())
    canonical["entities"] = msgspec.to_builtins(record.entities)
    canonical["image_sources"] = msgspec.to_builtins(record.image_sources)
    canonical["payload"] = {"source_id": payload.source_id, **_nested_in_order(record.payload)}
    canonical.update(_nested_in_order(extra))
    return canonical


def _nested_in_order(mapping: dict) -> dict:
    """The mapping with the keys of every object nested in its values sorted.

    Free-form values (payload extras, kept unknown fields) are stored as jsonb on
    PostgreSQL, which keeps objects' keys in an order of its own; their first
    level keeps the record's order (stored as pairs), deeper objects are
    canonical in key order, so an export hashes the same as its import.
    """
    return {key: _sorted_keys(value) for key, value in mapping.items()}


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def _object_or_none(struct: Struct | None) -> dict | None:
    if struct is None:
        return None
    value = msgspec.to_builtins(struct)
    return value if any(item is not None for item in value.values()) else None


def record_line(canonical: dict) -> bytes:
    """The record as one JSON line (UTF-8, no trailing newline): snapshots and export."""
    return msgspec.json.encode(canonical)


def record_hash(canonical: dict) -> str:
    """Content identity: two records with the same hash are the same post content."""
    return line_hash(record_line(canonical))


def line_hash(line: bytes) -> str:
    """record_hash of a record already encoded by record_line (the write path has the line at hand)."""
    return hashlib.sha256(line).hexdigest()


def revision_of(canonical: dict) -> dict:
    """The record's `revision` object as a new dict; every key None when the record has none."""
    return {**dict.fromkeys(RevisionInfo.__struct_fields__), **(canonical["revision"] or {})}


def decode_record(raw: bytes | str) -> Any:
    """Decode one JSON text, raising RecordError for bytes that are not UTF-8 JSON.

    Objects with a repeated key decode to a marker that `validate` rejects by path
    (the standard parser would keep the last value silently).
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RecordError(
                field="(line)", expected="UTF-8 text", found=f"invalid UTF-8 at byte {error.start}"
            ) from None
    try:
        return json.loads(raw, object_pairs_hook=_json_object, parse_constant=_refuse_constant)
    except RecursionError:
        raise RecordError(
            field="(line)", expected=f"JSON nested at most {MAX_DEPTH} levels deep", found="deeper nesting"
        ) from None
    except ValueError as error:
        raise RecordError(field="(line)", expected="one JSON record", found=f"invalid JSON ({error})") from None


class _RepeatedKeys(dict):
    """A decoded JSON object that named `key` more than once."""

    def __init__(self, pairs: list, key: str):
        super().__init__(pairs)
        self.key = key


def _json_object(pairs: list) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen = set()
    repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
    return _RepeatedKeys(pairs, repeated)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def values_are_storable(value: Any, depth: int = 1) -> bool:
    """Whether check_values would pass, without building a path for every value.

    Nearly every record passes; this answers for those in a third of the time
    (measured: 0.04 against 0.12 ms a record), and check_values then runs only
    on a record that fails, to say where and why.
    """
    kind = type(value)
    if kind is str:
        return _CONTROL.search(value) is None and (value.isascii() or _encodable(value))
    if kind is bool or value is None:
        return True
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX
    if kind is float:
        return math.isfinite(value) and abs(value) < FLOAT_LIMIT and not (value == 0 and math.copysign(1, value) < 0)
    if depth > MAX_DEPTH:
        return False
    if kind is list:
        return all(values_are_storable(inner, depth + 1) for inner in value)
    if kind is dict:  # not _RepeatedKeys, a subclass: check_values reports the key
        return all(
            values_are_storable(key, depth) and values_are_storable(inner, depth + 1) for key, inner in value.items()
        )
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_values(value: Any, path: str = "", depth: int = 1) -> None:
    """Refuse what no store or reader keeps exactly: NUL, lone surrogates, huge integers, deep nesting."""
    if isinstance(value, str):
        _check_text(value, path or "(record)")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise RecordError(
                field=path or "(record)",
                expected="an integer that fits in 64 bits (-2^63 to 2^63-1)",
                found=describe(value),
            )
    elif isinstance(value, float):
        # PostgreSQL's jsonb rewrites 1e+16 as the integer 10000000000000000 and -0.0 as 0.0.
        if not math.isfinite(value) or abs(value) >= FLOAT_LIMIT or (value == 0 and math.copysign(1, value) < 0):
            raise RecordError(
                field=path or "(record)",
                expected="a finite number below 10^16 in magnitude and not -0.0 (write larger ones as integers)",
                found=repr(value),
            )
    elif isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            raise RecordError(
                field=path or "(record)",
                expected=f"JSON nested at most {MAX_DEPTH} levels deep",
                found="deeper nesting",
            )
        if isinstance(value, _RepeatedKeys):
            raise RecordError(
                field=_join(path, value.key),
                expected="each key once per object",
                found=f"the key {value.key!r} more than once",
            )
        if isinstance(value, list):
            for index, inner in enumerate(value):
                check_values(inner, f"{path}[{index}]", depth + 1)
            return
        for key, inner in value.items():
            _check_text(key, f"{_join(path, key)} (key)")
            check_values(inner, _join(path, key), depth + 1)


def _join(path: str, key: Any) -> str:
    name = key if _printable(key) else ascii(key)
    return f"{path}.{name}" if path else name


def _printable(text: str) -> bool:
    """Safe to put in a report as is: printable and encodable (no NUL, no lone surrogate)."""
    return text.isprintable()


def _check_text(text: str, field: str) -> None:
    control = _CONTROL.search(text)
    if control:
        # NUL: PostgreSQL refuses it; the others: XML 1.0 (feeds, sitemaps) cannot carry them.
        raise RecordError(
            field=field,
            expected="text without NUL (\\u0000) or other control characters (tab and line ends are fine)",
            found=f"{control.group()!a} at character {control.start()}",
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise RecordError(
                field=field,
                expected="text of Unicode characters (no lone surrogates)",
                found=f"a lone surrogate {text[error.start]!a} at character {error.start}",
            ) from None


def _pairs(mapping: dict | None) -> list | None:
    return None if mapping is None else [[key, value] for key, value in mapping.items()]


def _mapping(pairs: list | None) -> dict | None:
    return None if pairs is None else dict(pairs)


POST_COLUMNS = (
    "source_id",
    "reference",
    "title",
    "topic",
    "summary",
    "body",
    "ai_outline",
    "ai_brief",
    "code_language",
    "difficulty",
    "reading_time",
    "view_count",
    "score_quality",
    "score_freshness",
    "score_depth",
    "score_clarity",
    "revision_status",
    "version",
    "last_reviewed",
    "content_hash",
    "checklist",
    "payload",
    "notes",
    "extra",
    *FLAG_NAMES,
)


def post_fields(canonical: dict) -> dict:
    """The Post column values for a canonical record (tags, entities and images are rows elsewhere)."""
    score = canonical["score"] or {}
    revision = canonical["revision"] or {}
    last_reviewed = revision.get("last_reviewed")
    payload = dict(canonical["payload"])
    source_id = payload.pop("source_id")
    fields = {
        "source_id": source_id,
        "reference": canonical["reference"],
        "title": canonical["title"],
        "topic": canonical["topic"],
        "summary": canonical["summary"],
        "body": canonical["body"],
        "ai_outline": _pairs(canonical["ai_outline"]),
        "ai_brief": canonical["ai_brief"],
        "code_language": canonical["code_language"],
        "difficulty": canonical["difficulty"],
        "reading_time": canonical["reading_time"],
        "view_count": canonical["view_count"],
        "score_quality": score.get("quality"),
        "score_freshness": score.get("freshness"),
        "score_depth": score.get("depth"),
        "score_clarity": score.get("clarity"),
        "revision_status": revision.get("status"),
        "version": revision.get("version"),
        "last_reviewed": datetime.date.fromisoformat(last_reviewed) if last_reviewed else None,
        "content_hash": canonical["hash"],
        "checklist": canonical["checklist"],
        "payload": _pairs(payload),
        "notes": canonical["notes"],
        "extra": _pairs({key: value for key, value in canonical.items() if key not in FIELDS}),
    }
    fields.update({name: canonical["flags"][name] for name in FLAG_NAMES})
    return fields


def record_from_post(
    post, *, stack: list[str], tools: list[str], entities: list[dict], image_sources: list[dict]
) -> dict:
    """The canonical record of a stored post; the inverse of `post_fields` plus the related rows."""
    score = {
        "quality": post.score_quality,
        "freshness": post.score_freshness,
        "depth": post.score_depth,
        "clarity": post.score_clarity,
    }
    revision = {
        "status": post.revision_status,
        "version": post.version,
        "last_reviewed": post.last_reviewed.isoformat() if post.last_reviewed else None,
    }
    canonical = {
        "title": post.title,
        "topic": post.topic,
        "summary": post.summary,
        "body": post.body,
        "ai_outline": _mapping(post.ai_outline),
        "ai_brief": post.ai_brief,
        "stack": stack,
        "tools": tools,
        "code_language": post.code_language,
        "difficulty": post.difficulty,
        "reading_time": post.reading_time,
        "view_count": post.view_count,
        "score": score if any(value is not None for value in score.values()) else None,
        "revision": revision if any(value is not None for value in revision.values()) else None,
        "reference": post.reference,
        "hash": post.content_hash,
        "flags": {name: getattr(post, name) for name in FLAG_NAMES},
        "checklist": post.checklist,
        "entities": entities,
        "image_sources": image_sources,
        "payload": {"source_id": post.source_id, **_nested_in_order(_mapping(post.payload) or {})},
        "notes": post.notes,
    }
    canonical.update(_nested_in_order(_mapping(post.extra) or {}))
    return canonical
