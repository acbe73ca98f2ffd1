"""Import input, property-based: every record is stored exactly or rejected with a full report.

Valid records come from the generator (posts/generating.py); hypothesis mutates
them (wrong types, out-of-range numbers, NaN, NUL, lone surrogates, 64-bit
overflow, impossible dates, repeated keys, deep nesting, over-long strings, odd
Unicode tags) and writes them as the bytes a file would hold. Whatever comes
in, the import never crashes and never half-writes a post: a stored record
exports back to its canonical form (and equals the input field by field), a
rejected one is in the reject file unchanged with file:line, field, expected,
found and retryable, and nothing of it is in the database.
"""

import contextlib
import json
import math

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from posts import exporting, records
from posts.generating import generate_record
from posts.importing import import_records
from posts.models import ImageSource, Post, PostEntity, Revision, StackTag, ToolTag

pytestmark = pytest.mark.django_db

# Modest counts: the whole file runs in well under a minute on either database.
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

TEXT_FIELDS = ("title", "topic", "summary", "body", "ai_brief", "reference")
ODD_TAGS = [
    "C++",
    "c++",
    "c#",
    "C#",
    "F#",
    "Python",
    "python",
    "PYTHON",
    ".net",
    "node.js",
    "asyncio.gather",
    "🐍",
    "🐍 python",
    "👩‍💻",
    "naïve",
    "nai\u0308ve",
    "日本語",
    "Ελληνικά",
    "עברית",
    "\u200b",
    "a/b",
    "a?b#c",
    "100%",
    " spaced ",
    "tab\tinside",
    "<b>bold</b>",
    "{{ tag }}",
    "x" * 100,
]
NUMBER_PATHS = (
    ("reading_time",),
    ("view_count",),
    ("score", "quality"),
    ("score", "clarity"),
    ("payload", "seed"),
    ("payload", "paragraphs"),
)


@contextlib.contextmanager
def rolled_back():
    """One hypothesis example: whatever it writes is undone, so examples never see each other."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def base_records():
    return st.integers(min_value=0, max_value=10**6).map(lambda index: generate_record(97, index))


def json_values(max_leaves: int = 8):
    """Arbitrary JSON values, as extras of a payload may hold."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63 - 1)
        | st.floats(min_value=-1e15, max_value=1e15)
        | st.text(max_size=20)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=max_leaves,
    )


def line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")


def import_file(tmp_path, lines: list[bytes], name: str = "in.jsonl", **kwargs):
    source = tmp_path / name
    source.write_bytes(b"".join(item + b"\r\n" if n % 2 else item + b"\n" for n, item in enumerate(lines)))
    rejects = tmp_path / "rejects.jsonl"
    rejects.unlink(missing_ok=True)
    report = import_records([str(source)], workers=1, reject_path=rejects, **kwargs)
    errors = []
    if rejects.exists():
        errors = [json.loads(item) for item in (tmp_path / "rejects.jsonl.errors.jsonl").read_text().splitlines()]
        errors.pop()  # the summary
    return source, report, rejects, errors


def exported(source_id: str) -> dict:
    (exported_line,) = list(exporting.iter_records(exporting.select_posts(source_ids=[source_id])))
    return json.loads(exported_line)


def assert_stored_exactly(given_record: dict, *, keep_unknown: bool = False) -> None:
    """The export is the input's canonical form, and every value the input gave comes back as given."""
    canonical = records.validate(given_record, keep_unknown=keep_unknown)
    back = exported(canonical["payload"]["source_id"])
    assert back == json.loads(records.record_line(canonical))
    assert records.record_line(records.validate(back, keep_unknown=keep_unknown)) == records.record_line(canonical)
    for name, value in given_record.items():
        if value is None:
            continue
        if name in ("flags", "score", "revision") and isinstance(value, dict):
            assert {key: back[name][key] for key in value if value[key] is not None} == {
                key: inner for key, inner in value.items() if inner is not None
            }
        else:
            assert back[name] == value, name


def assert_rejected_whole(source, report, rejects, errors, raw: bytes, *, field_prefix: str | None = None) -> dict:
    """Rejected with a full report, the bytes unchanged in the reject file, nothing written."""
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 0, 1)
    assert rejects.read_bytes() == raw + b"\n"
    (error,) = errors
    assert error["location"] == f"{source}:1"
    assert error["field"] and error["expected"] and error["found"]
    assert error["retryable"] is False
    if field_prefix is not None:
        assert error["field"].startswith(field_prefix), error
    assert_nothing_written()
    return error


def assert_nothing_written() -> None:
    assert Post.objects.count() == 0
    assert Revision.objects.count() == 0
    for model in (StackTag, ToolTag, PostEntity, ImageSource):
        assert model.objects.count() == 0


def assert_one_outcome(tmp_path, raw: bytes, given_record: dict | None = None, **kwargs) -> str:
    """Import one line: stored exactly, or rejected whole with a report. Returns which."""
    with rolled_back():
        source, report, rejects, errors = import_file(tmp_path, [raw], **kwargs)
        assert report.total == 1
        if report.rejected:
            assert_rejected_whole(source, report, rejects, errors, raw)
            return "rejected"
        assert report.created == 1
        assert not rejects.exists()
        assert_stored_exactly(given_record if given_record is not None else json.loads(raw), **kwargs)
        return "stored"


@PROPERTY
@given(record=base_records())
def test_generated_records_are_stored_exactly(tmp_path, record):
    assert assert_one_outcome(tmp_path, line(record), record) == "stored"


@PROPERTY
@given(
    record=base_records(),
    field=st.sampled_from((*TEXT_FIELDS, "checklist", "notes", "stack", "tools", "entities", "image_sources")),
    text=st.text(max_size=120),
)
def test_any_text_in_any_field_is_stored_exactly_or_rejected_by_field(tmp_path, record, field, text):
    if field in ("checklist", "notes", "stack", "tools"):
        record[field] = [*record[field], text]
    elif field == "entities":
        record[field] = [*record[field], {"name": text, "type": "odd"}]
    elif field == "image_sources":
        record[field] = [{"source": text or "x", "url": "https://example.org/a.png", "caption": text}]
    else:
        record[field] = text
    raw = line(record)
    with rolled_back():
        source, report, rejects, errors = import_file(tmp_path, [raw])
        if report.rejected:
            error = assert_rejected_whole(source, report, rejects, errors, raw)
            assert error["field"].startswith(field), error
        else:
            assert_stored_exactly(record)


@PROPERTY
@given(
    record=base_records(),
    path=st.sampled_from(NUMBER_PATHS),
    value=st.one_of(
        st.integers(),
        st.integers(min_value=2**62, max_value=2**80),
        st.integers(max_value=-(2**62), min_value=-(2**80)),
        st.floats(),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1.0", "07", "0x10", '"12"', "true"]),
    ),
)
@example(record=generate_record(97, 1), path=("view_count",), value=2**63 - 1)
@example(record=generate_record(97, 1), path=("view_count",), value=2**63)
@example(record=generate_record(97, 1), path=("payload", "seed"), value=-(2**63) - 1)
def test_numbers_out_of_range_wrong_or_not_finite(tmp_path, record, path, value):
    parent = record
    for name in path[:-1]:
        parent = parent[name]
    parent[path[-1]] = "__NUMBER__"
    text = value if isinstance(value, str) else json.dumps(value)
    raw = line(record).replace(b'"__NUMBER__"', text.encode())
    outcome = assert_one_outcome(tmp_path, raw) if _is_json(raw) else _rejected_line(tmp_path, raw)
    in_range = {
        "reading_time": (0, 600),
        "view_count": (0, 2**63 - 1),
        "quality": (0, 100),
        "clarity": (0, 100),
        "seed": (-(2**63), 2**63 - 1),
        "paragraphs": (0, 2**63 - 1),
    }[path[-1]]
    number = json.loads(text) if _is_json(text.encode()) else None
    acceptable = type(number) is int and in_range[0] <= number <= in_range[1]
    assert outcome == ("stored" if acceptable else "rejected"), (path, text)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    except ValueError:
        return False
    return True


def _rejected_line(tmp_path, raw: bytes) -> str:
    with rolled_back():
        source, report, rejects, errors = import_file(tmp_path, [raw])
        error = assert_rejected_whole(source, report, rejects, errors, raw)
        assert error["field"] in ("(line)",) or error["expected"] == "a finite number", error
    return "rejected"


@PROPERTY
@given(
    record=base_records(),
    field=st.sampled_from(("title", "summary", "body", "stack", "entities", "payload", "ai_outline", "notes")),
    position=st.integers(min_value=0, max_value=5),
    poison=st.sampled_from(["\\u0000", "\\u0001", "\\u000b", "\\u001f", "\\ud83d", "\\udc00", "\\uDFFF"]),
)
def test_nul_control_characters_and_lone_surrogates_are_rejected_by_field(tmp_path, record, field, position, poison):
    marker = "__POISON__"
    if field in ("stack", "notes"):
        record[field] = [*record[field], f"tag{marker}"]
    elif field == "entities":
        record[field] = [*record[field], {"name": marker, "type": "odd"}]
    elif field == "payload":
        record[field] = {**record[field], f"key{marker}": "value"}
    elif field == "ai_outline":
        record[field] = {**record[field], "context": marker}
    else:
        record[field] = record[field][:position] + marker + record[field][position:]
    raw = line(record).replace(marker.encode(), poison.encode())
    with rolled_back():
        source, report, rejects, errors = import_file(tmp_path, [raw])
        error = assert_rejected_whole(source, report, rejects, errors, raw, field_prefix=field)
        assert "control characters" in error["expected"] or "surrogate" in error["expected"], error


@PROPERTY
@given(
    record=base_records(),
    date=st.one_of(
        st.sampled_from(["2021-02-29", "2021-02-30", "2021-13-01", "2021-00-10", "0000-01-01", "2021-2-3"]),
        st.sampled_from(["99999-01-01", "2021-01-32", "2021/01/01", "20210101", "2021-01-01T00:00:00", ""]),
        st.dates().map(str),
    ),
)
@example(record=generate_record(97, 2), date="2024-02-29")
def test_impossible_dates_are_rejected_and_real_ones_kept(tmp_path, record, date):
    record["revision"]["last_reviewed"] = date
    outcome = assert_one_outcome(tmp_path, line(record), record)
    valid = len(date) == 10 and _real_date(date)
    assert outcome == ("stored" if valid else "rejected"), date


def _real_date(text: str) -> bool:
    import datetime

    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return text[4] == "-" and text[7] == "-"


@PROPERTY
@given(
    record=base_records(),
    where=st.sampled_from(["title", "score", "payload", "flags", "entities"]),
)
def test_repeated_keys_are_rejected_with_their_path(tmp_path, record, where):
    raw = line(record)
    if where == "title":
        raw = raw.replace(b'{"title": ', b'{"title": "first title", "title": ', 1)
        expected_field = "title"
    elif where == "score":
        raw = raw.replace(b'"score": {', b'"score": {"depth": 1, ', 1)
        expected_field = "score.depth"
    elif where == "payload":
        raw = raw.replace(b'"payload": {', b'"payload": {"source_id": "other", ', 1)
        expected_field = "payload.source_id"
    elif where == "flags":
        raw = raw.replace(b'"flags": {', b'"flags": {"has_images": true, "has_images": false, ', 1)
        expected_field = "flags.has_images"
    else:
        raw = raw.replace(b'"entities": [{', b'"entities": [{"type": "x", ', 1)
        expected_field = "entities[0].type"
    with rolled_back():
        source, report, rejects, errors = import_file(tmp_path, [raw])
        error = assert_rejected_whole(source, report, rejects, errors, raw)
        assert error["field"] == expected_field
        assert error["expected"] == "each key once per object"


@PROPERTY
@given(record=base_records(), depth=st.integers(min_value=1, max_value=60), container=st.sampled_from("[{"))
@example(record=generate_record(97, 3), depth=18, container="[")
@example(record=generate_record(97, 3), depth=19, container="{")
@example(record=generate_record(97, 3), depth=5000, container="[")
def test_deep_nesting_is_capped(tmp_path, record, depth, container):
    value = 1
    for _ in range(depth):
        value = [value] if container == "[" else {"k": value}
    record["payload"]["deep"] = "__DEEP__"
    # Written by hand: json.dumps itself would hit the recursion limit at 5000 levels.
    opening, closing = ("[", "]") if container == "[" else ('{"k": ', "}")
    raw = line(record).replace(b'"__DEEP__"', (opening * depth + "1" + closing * depth).encode())
    # The record is level 1, the payload 2, so the deepest container is at depth + 2.
    allowed = depth + 2 <= records.MAX_DEPTH
    with rolled_back():
        source, report, rejects, errors = import_file(tmp_path, [raw])
        if allowed:
            record["payload"]["deep"] = value
            assert report.created == 1
            assert exported(record["payload"]["source_id"])["payload"]["deep"] == value
        else:
            error = assert_rejected_whole(source, report, rejects, errors, raw)
            assert "nested at most 20 levels" in error["expected"]


LIMITS = {
    "title": 300,
    "topic": 300,
    "summary": 2000,
    "ai_brief": 4000,
    "reference": 200,
    "stack": 100,
    "entities": 200,
    "checklist": 1000,
}


@PROPERTY
@given(
    record=base_records(),
    field=st.sampled_from(sorted(LIMITS)),
    extra=st.integers(min_value=-3, max_value=3),
    char=st.sampled_from(["x", "é", "🐍", "日", "\u0301"]),
)
def test_string_lengths_at_and_past_their_limits(tmp_path, record, field, extra, char):
    text = char * (LIMITS[field] + extra)
    if field == "stack":
        record["stack"] = [text]
    elif field == "entities":
        record["entities"] = [{"name": text, "type": "odd"}]
    elif field == "checklist":
        record["checklist"] = [text]
    else:
        record[field] = text
    outcome = assert_one_outcome(tmp_path, line(record), record)
    assert outcome == ("stored" if extra <= 0 else "rejected")


@PROPERTY
@given(
    stack=st.lists(st.sampled_from(ODD_TAGS) | st.text(min_size=1, max_size=30), min_size=1, max_size=5),
    tools=st.lists(st.sampled_from(ODD_TAGS), min_size=0, max_size=4),
)
@example(stack=["C++", "c++", "Python", "python"], tools=["c#", "C#", "🐍"])
@example(stack=["python", "python"], tools=["python"])
def test_odd_unicode_tags_keep_their_exact_names(tmp_path, stack, tools):
    first, second = generate_record(97, 10), generate_record(97, 11)
    first["stack"], first["tools"] = stack, tools
    second["stack"], second["tools"] = [tag.swapcase() for tag in stack], tools[::-1]
    with rolled_back():
        source, report, _rejects, errors = import_file(tmp_path, [line(first), line(second)])
        for record, number in ((first, 1), (second, 2)):
            mine = [error for error in errors if error["location"] == f"{source}:{number}"]
            if mine:
                assert mine[0]["field"].startswith(("stack", "tools")), mine
                assert not Post.objects.filter(source_id=record["payload"]["source_id"]).exists()
            else:
                assert_stored_exactly(record)
        assert report.total == 2


@PROPERTY
@given(
    record=base_records(),
    extras=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda key: key not in records.FIELDS),
        json_values(),
        min_size=1,
        max_size=3,
    ),
    payload_extras=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda key: key not in ("source_id", "generator", "scenario")),
        json_values(),
        max_size=3,
    ),
)
def test_kept_unknown_fields_and_payload_extras_round_trip(tmp_path, record, extras, payload_extras):
    record["payload"].update(payload_extras)
    record.update(extras)
    raw = line(record)
    with rolled_back():
        _source, report, _rejects, errors = import_file(tmp_path, [raw], keep_unknown=True)
        if report.rejected:
            (error,) = errors
            names = tuple(key if key.isprintable() else ascii(key) for key in extras)
            assert error["field"].startswith((*names, "payload")), error
            assert_nothing_written()
        else:
            assert_stored_exactly(record, keep_unknown=True)
            # Importing the export changes nothing (floats and big numbers come back the same).
            back = line(exported(record["payload"]["source_id"]))
            again = import_file(tmp_path, [back], name="again.jsonl", keep_unknown=True)[1]
            assert (again.unchanged, again.updated, again.rejected) == (1, 0, 0)


WRONG_TYPES = [None, True, 0, -1, 1.5, "", "text", [], ["a"], {}, {"a": 1}, [[1]], [{"x": None}]]


@PROPERTY
@given(
    record=base_records(),
    field=st.sampled_from(records.FIELDS),
    value=st.sampled_from(WRONG_TYPES),
)
def test_wrong_types_in_any_field(tmp_path, record, field, value):
    assume(record.get(field) != value)
    record[field] = value
    outcome = assert_one_outcome(tmp_path, line(record), record)
    if outcome == "rejected":
        return
    # Only values of the field's own type may pass.
    canonical = records.validate(record)
    assert canonical[field] == value or field in ("flags", "score", "revision")


@PROPERTY
@given(
    records_in_file=st.lists(base_records(), min_size=2, max_size=6),
    repeats=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=4),
    summaries=st.lists(st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=30), min_size=4, max_size=4),
)
def test_repeated_source_id_in_one_file_the_last_occurrence_wins(tmp_path, records_in_file, repeats, summaries):
    lines, last = [], {}
    for record in records_in_file:
        lines.append(line(record))
        last[record["payload"]["source_id"]] = record
    for position, summary in zip(repeats, summaries, strict=False):
        again = json.loads(lines[position % len(lines)])
        again["summary"] = summary
        lines.append(line(again))
        last[again["payload"]["source_id"]] = again
    with rolled_back():
        _source, report, _rejects, _errors = import_file(tmp_path, lines)
        assert report.rejected == 0
        assert report.created == len(last)
        assert report.created + report.updated + report.unchanged == len(lines)
        for record in last.values():
            assert_stored_exactly(record)


def test_bom_crlf_and_empty_files(tmp_path):
    first, second = generate_record(97, 20), generate_record(97, 21)
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + line(first) + b"\r\n" + line(second) + b"\r\n")
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf[\r\n" + line(generate_record(97, 22)) + b"\r\n]\r\n")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\r\n\r\n")
    (tmp_path / "empty-array.json").write_bytes(b"[ ]")
    report = import_records(
        [str(tmp_path / name) for name in ("bom.jsonl", "bom.json", "empty.jsonl", "empty.json", "blank.jsonl")]
        + [str(tmp_path / "empty-array.json")],
        workers=1,
        reject_path=tmp_path / "r.jsonl",
    )
    assert (report.created, report.rejected, report.failure) == (3, 0, "")
    assert_stored_exactly(first)
    assert_stored_exactly(second)


def test_a_json_array_with_one_broken_element_keeps_every_other_element(tmp_path):
    good = [generate_record(97, n) for n in range(30, 34)]
    broken = b'{"title": oops, "body": "a ] and a , inside a string", "x": [1, {"y": "}"}]}'
    deep = b"[" * 5000 + b"]" * 5000
    elements = [line(good[0]), broken, line(good[1]), deep, line(good[2]), b'"just a string"', line(good[3])]
    (tmp_path / "array.json").write_bytes(b"[\r\n" + b",\r\n".join(elements) + b"\r\n]\r\n")
    rejects = tmp_path / "r.jsonl"
    report = import_records([str(tmp_path / "array.json")], workers=1, reject_path=rejects)
    assert (report.created, report.rejected) == (4, 3)
    assert rejects.read_bytes().splitlines() == [broken, deep, b'"just a string"']
    errors = [json.loads(item) for item in (tmp_path / "r.jsonl.errors.jsonl").read_text().splitlines()[:-1]]
    assert [error["location"] for error in errors] == [f"{tmp_path / 'array.json'}[{n}]" for n in (1, 3, 5)]
    assert [error["field"] for error in errors] == ["(line)", "(line)", "(record)"]
    for record in good:
        assert_stored_exactly(record)


@pytest.mark.parametrize("value", [1e16, -1e300, -0.0, 2.0**80])
def test_floats_a_database_would_rewrite_are_rejected_by_field(tmp_path, value):
    record = generate_record(97, 41)
    record["payload"]["floats"] = [1.5, value]
    raw = line(record)
    source, report, rejects, errors = import_file(tmp_path, [raw])
    error = assert_rejected_whole(source, report, rejects, errors, raw)
    assert error["field"] == "payload.floats[1]"
    assert error["expected"].startswith("a finite number below 10^16")


def test_other_floats_are_kept_exactly(tmp_path):
    record = generate_record(97, 40)
    values = [1.5e-300, 0.1 + 0.2, 123456789.123456789, 1.0, 0.0, -2.5, 2.5e15, 9999999999999998.0, 5e-324]
    record["payload"]["floats"] = values
    report = import_file(tmp_path, [line(record)])[1]
    assert report.created == 1
    back = exported(record["payload"]["source_id"])["payload"]["floats"]
    assert [(type(value), math.copysign(1, value), repr(value)) for value in back] == [
        (type(value), math.copysign(1, value), repr(value)) for value in values
    ]
