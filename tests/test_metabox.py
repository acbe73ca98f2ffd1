"""The meta box rows: spec order, keys with spaces, nested lists, nothing Python- or JSON-shaped."""

import pytest

from posts import records
from posts.metabox import MetaItem, MetaRow, meta_rows
from tests.factories import make_record

pytestmark = pytest.mark.same_on_every_backend


def _canonical(**overrides) -> dict:
    return records.validate(make_record(1, **overrides))


def test_rows_follow_the_spec_without_title_and_body():
    rows = meta_rows(_canonical())
    shown = [name.replace("_", " ") for name in records.FIELDS if name not in ("title", "body")]
    assert [row.key for row in rows] == shown


def test_scalars_are_text_and_objects_are_key_value_items():
    rows = {row.key: row for row in meta_rows(_canonical())}
    assert rows["view count"] == MetaRow(key="view count", text="554931")
    assert rows["flags"].items == [
        MetaItem(text="ai generated style: 1"),
        MetaItem(text="has images: 1"),
        MetaItem(text="image heavy: 0"),
        MetaItem(text="needs human review: 1"),
    ]
    assert rows["revision"].items[-1] == MetaItem(text="last reviewed: 2021-10-14")


def test_lists_of_objects_nest_one_list_per_object():
    rows = {row.key: row for row in meta_rows(_canonical())}
    assert rows["entities"].items[0] == MetaItem(
        children=[MetaItem(text="name: python services"), MetaItem(text="type: stack")]
    )


def test_links_attach_to_matching_list_items_and_scalars():
    topic = "building safer deployment steps / python services"
    links = {"stack": {"python": "/stack/python/"}, "topic": {topic: "/t/"}}
    rows = {row.key: row for row in meta_rows(_canonical(), links=links)}
    assert rows["stack"].items[2] == MetaItem(text="python", url="/stack/python/")
    assert rows["stack"].items[0].url == ""
    assert rows["topic"].url == "/t/"


def test_absent_and_empty_fields_have_no_row_and_null_object_values_are_left_out():
    canonical = _canonical(ai_brief=None, notes=[], checklist=[], revision={"status": "draft"}, summary="")
    rows = {row.key: row for row in meta_rows(canonical)}
    assert not {"ai brief", "notes", "checklist", "summary"} & rows.keys()
    assert rows["revision"].items == [MetaItem(text="status: draft")]


def test_nested_payload_values_become_nested_items_not_json():
    canonical = _canonical(payload={"source_id": "x-1", "extra_info": {"a_b": [1, True]}})
    payload = {row.key: row for row in meta_rows(canonical)}["payload"]
    assert payload.items == [
        MetaItem(text="source id: x-1"),
        MetaItem(text="extra info:", children=[MetaItem(text="a b:", children=[MetaItem("1"), MetaItem("1")])]),
    ]
