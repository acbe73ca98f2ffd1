"""diffing: field-by-field meta changes and line-by-line body changes between two records."""

import pytest

from posts import records
from posts.admin import diffing
from tests.factories import make_record

pytestmark = pytest.mark.same_on_every_backend


def canonical(**overrides) -> dict:
    return records.validate(make_record(1, **overrides))


def test_same_record_is_identical():
    record = canonical()
    diff = diffing.record_diff(record, record)
    assert diff.identical
    assert diff.fields == ()
    assert diff.body == ()


def test_meta_changes_name_the_exact_key_in_spec_order():
    old = canonical()
    new = canonical(
        title="a new title",
        score={"quality": 40, "freshness": 49, "depth": 66, "clarity": 70},
        flags={"ai_generated_style": True, "has_images": True, "image_heavy": False, "needs_human_review": False},
    )
    diff = diffing.record_diff(old, new)
    assert [(change.name, change.old, change.new) for change in diff.fields] == [
        ("title", old["title"], "a new title"),
        ("score.quality", "92", "40"),
        ("flags.needs_human_review", "yes", "no"),
    ]
    assert diff.fields[1].label == "score.quality"
    assert diff.body == ()


def test_absent_optional_field_is_none_not_empty_text():
    diff = diffing.record_diff(canonical(), canonical(ai_brief=None))
    (change,) = diff.fields
    assert (change.name, change.new) == ("ai_brief", None)


def test_list_fields_diff_line_by_line():
    old = canonical(stack=["python services", "backend", "python"])
    new = canonical(stack=["python services", "python", "django"])
    (change,) = diffing.record_diff(old, new).fields
    assert change.name == "stack"
    assert [(line.kind, line.text) for line in change.lines] == [
        ("equal", "python services"),
        ("delete", "backend"),
        ("equal", "python"),
        ("insert", "django"),
    ]


def test_entities_and_image_sources_are_readable_lines():
    old = canonical()
    new = canonical(entities=[{"name": "go microservices", "type": "stack"}])
    (change,) = diffing.record_diff(old, new).fields
    assert change.name == "entities"
    assert change.new == "go microservices (stack)"
    assert "python services (stack)\nbackend (area)" in change.old


def test_body_diff_keeps_context_and_line_numbers():
    old = "\n".join(f"line {n}" for n in range(1, 21)) + "\n"
    new = old.replace("line 10\n", "line ten\n")
    (hunk,) = diffing.body_diff(old, new)
    assert hunk.header == "@@ -7,7 +7,7 @@"
    kinds = [(line.kind, line.old_number, line.new_number, line.text) for line in hunk.lines]
    assert kinds[:3] == [("equal", 7, 7, "line 7"), ("equal", 8, 8, "line 8"), ("equal", 9, 9, "line 9")]
    assert kinds[3:5] == [("delete", 10, None, "line 10"), ("insert", None, 10, "line ten")]
    assert kinds[-1] == ("equal", 13, 13, "line 13")


def test_changed_words_are_marked_within_a_line():
    (hunk,) = diffing.body_diff("keep a rollback command ready\n", "keep a tested rollback command ready\n")
    delete, insert = hunk.lines
    assert [segment.text.strip() for segment in insert.segments if segment.changed] == ["tested"]
    assert not any(segment.changed for segment in delete.segments)
    assert insert.text == "keep a tested rollback command ready"


def test_code_blocks_stay_line_by_line_with_indentation():
    old = "```python\ndef health():\n    return {'ok': True}\n```\n"
    new = "```python\ndef health():\n    return {'ok': False}\n```\n"
    (hunk,) = diffing.body_diff(old, new)
    assert [line.text for line in hunk.lines if line.kind != "equal"] == [
        "    return {'ok': True}",
        "    return {'ok': False}",
    ]


def test_separate_changes_make_separate_hunks_and_stats():
    old = "\n".join(f"line {n}" for n in range(1, 41))
    new = old.replace("line 2\n", "").replace("line 35", "line 35 changed")
    diff = diffing.record_diff(canonical(body=old), canonical(body=new))
    assert len(diff.body) == 2
    assert diff.body_stats == (2, 1)


def test_new_post_diffs_against_nothing():
    diff = diffing.record_diff(None, canonical())
    assert not diff.identical
    assert diff.fields[0].name == "title"
    assert diff.fields[0].old is None
    assert all(line.kind == "insert" for hunk in diff.body for line in hunk.lines)


def test_unknown_fields_kept_by_keep_unknown_are_compared():
    old = records.validate({**make_record(1), "mood": "calm"}, keep_unknown=True)
    new = records.validate({**make_record(1), "mood": "busy"}, keep_unknown=True)
    (change,) = diffing.record_diff(old, new).fields
    assert (change.name, change.old, change.new) == ("mood", "calm", "busy")


def test_very_long_lines_are_marked_whole():
    (hunk,) = diffing.body_diff("a" * 5000, "b" * 5000)
    delete, insert = hunk.lines
    assert delete.segments == (diffing.Segment("a" * 5000, True),)
    assert insert.segments == (diffing.Segment("b" * 5000, True),)
