"""export_posts: the same format back out, filters, files."""

import gzip
import io
import json

import pytest
from django.core.management import call_command

from posts.importing import import_records
from tests.conftest import SAMPLE_JSON
from tests.factories import make_record, write_records

pytestmark = pytest.mark.django_db


def export(*args) -> list[dict]:
    out = io.StringIO()
    call_command("export_posts", *args, stdout=out, stderr=io.StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_sample_round_trip_field_for_field(sample_record):
    import_records([str(SAMPLE_JSON)], workers=1)
    (exported,) = export()
    assert list(exported) == list(sample_record)
    assert exported == sample_record


def test_export_then_import_is_unchanged(tmp_path):
    write_records(make_record(1), make_record(2, ai_outline=None, stack=[], score=None))
    path = tmp_path / "out.jsonl.gz"
    call_command("export_posts", "--output", str(path), stderr=io.StringIO())
    with gzip.open(path) as stream:
        assert len(stream.read().splitlines()) == 2
    report = import_records([str(path)], workers=1)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_unknown_fields_kept_on_import_come_back_on_export(tmp_path):
    record = make_record(1, colour="blue")
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(record) + "\n")
    import_records([str(path)], workers=1, keep_unknown=True)
    (exported,) = export()
    assert exported["colour"] == "blue"


def test_filters_by_source_id_tag_and_flag():
    write_records(
        make_record(1, stack=["go"], flags={"needs_human_review": False}),
        make_record(2, stack=["rust"], tools=["cargo"], flags={"needs_human_review": True}),
        make_record(3, stack=["rust"], flags={"needs_human_review": False}),
    )
    assert [r["payload"]["source_id"] for r in export("--source-id", "test-000001")] == ["test-000001"]
    assert [r["payload"]["source_id"] for r in export("--tag", "rust")] == ["test-000002", "test-000003"]
    assert [r["payload"]["source_id"] for r in export("--tag", "cargo")] == ["test-000002"]
    assert [r["payload"]["source_id"] for r in export("--flag", "needs_human_review")] == ["test-000002"]
    assert export("--tag", "rust", "--flag", "needs_human_review")[0]["payload"]["source_id"] == "test-000002"
