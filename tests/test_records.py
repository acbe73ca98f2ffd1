"""The record schema: what it accepts, what it rejects and how it says so."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posts import records
from posts.records import RecordError
from tests.factories import SAMPLE, make_record

pytestmark = pytest.mark.same_on_every_backend


def rejection(record: dict, **kwargs) -> RecordError:
    with pytest.raises(RecordError) as raised:
        records.validate(record, **kwargs)
    return raised.value


def test_sample_is_valid_and_canonical_form_keeps_spec_order():
    canonical = records.validate(SAMPLE)
    assert list(canonical) == list(records.FIELDS)
    assert canonical == SAMPLE  # the sample already carries every field


def test_absent_optional_fields_become_null_or_empty():
    minimal = {"title": "t", "topic": "x", "summary": "", "body": "", "reference": "r", "payload": {"source_id": "s"}}
    canonical = records.validate(minimal)
    assert canonical["ai_outline"] is None
    assert canonical["stack"] == []
    assert canonical["score"] is None
    assert canonical["flags"] == dict.fromkeys(records.FLAG_NAMES, False)
    assert records.validate(canonical) == canonical  # canonical form is a fixed point


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (lambda r: r.update(title="   "), "title", "1-300 characters after trimming"),
        (lambda r: r.update(title="x" * 301), "title", "str of length <= 300"),
        (lambda r: r["score"].update(depth=-1), "score.depth", "int >= 0"),
        (lambda r: r.update(difficulty="expert"), "difficulty", "one of beginner, intermediate, advanced"),
        (lambda r: r.update(reading_time=601), "reading_time", "int <= 600"),
        (lambda r: r.update(view_count=2**64), "view_count", "an integer that fits in 64 bits (-2^63 to 2^63-1)"),
        (lambda r: r.update(code_language="klingon"), "code_language", "a Pygments lexer name (python, go, sql, ...)"),
        (lambda r: r["flags"].update(shiny=True), "flags.shiny", "a known field name"),
        (lambda r: r["entities"][0].pop("type"), "entities[0].type", "a value (required field)"),
        (
            lambda r: r["image_sources"][0].update(url="data:image/png;base64,AAAA"),
            "image_sources[0].url",
            "an http:// or https:// URL",
        ),
        (lambda r: r["revision"].update(version="1.x"), "revision.version", "dotted numbers such as 1.5.8"),
        (
            lambda r: r["payload"].update(source_id=" padded "),
            "payload.source_id",
            "text without leading or trailing spaces",
        ),
        (lambda r: r.update(stack=["ok", ""]), "stack[1]", "str of length >= 1"),
    ],
)
def test_rejections_name_the_field_and_what_was_expected(change, field, expected):
    record = make_record(1)
    change(record)
    error = rejection(record)
    assert (error.field, error.expected) == (field, expected)
    assert error.source_id == record["payload"].get("source_id")
    assert error.retryable is False


def test_found_value_is_reported():
    record = make_record(1)
    record["score"]["quality"] = 140
    assert rejection(record).found == "140"
    record = make_record(1)
    del record["summary"]
    assert rejection(record).found == "nothing (field missing)"


def test_unknown_fields_are_rejected_by_name_unless_kept():
    record = make_record(1, colour="blue", size=3)
    error = rejection(record)
    assert error.field == "colour"
    assert "colour, size" in error.found
    canonical = records.validate(record, keep_unknown=True)
    assert list(canonical)[-2:] == ["colour", "size"]
    assert records.post_fields(canonical)["extra"] == [["colour", "blue"], ["size", 3]]


def test_payload_extras_keep_their_order():
    record = make_record(1)
    record["payload"] = {"seed": 1, "source_id": "s-1", "zeta": 1, "alpha": 2}
    canonical = records.validate(record)
    assert list(canonical["payload"]) == ["source_id", "seed", "zeta", "alpha"]


def test_record_error_survives_pickling():
    import pickle

    error = RecordError(field="f", expected="e", found="x", retryable=True, source_id="s", location="a:1")
    assert pickle.loads(pickle.dumps(error)) == error  # noqa: S301 (our own bytes)


def test_decode_rejects_invalid_utf8_and_json():
    with pytest.raises(RecordError, match="UTF-8"):
        records.decode_record(b'{"a": "\xff"}')
    with pytest.raises(RecordError, match="invalid JSON"):
        records.decode_record(b'{"a": ')


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([-0.0, 1e16, 9.99e15, "\x00", "a\x1fb", "\ud800", "tab\tand\nline", "é🙂"])
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES)
def test_the_quick_storability_check_agrees_with_check_values(value):
    try:
        records.check_values(value)
        storable = True
    except RecordError:
        storable = False
    assert records.values_are_storable(value) is storable


def test_the_quick_storability_check_refuses_deep_nesting_and_repeated_keys():
    deep = []
    for _ in range(records.MAX_DEPTH):
        deep = [deep]
    assert not records.values_are_storable(deep)
    assert records.values_are_storable(deep[0])
    repeated = records.decode_record('{"a": 1, "a": 2}')
    assert not records.values_are_storable(repeated)
    with pytest.raises(RecordError):
        records.check_values(repeated)
