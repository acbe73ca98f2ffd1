"""JsonFormatter: one JSON object per line, with the `extra` fields; import runs come out as one line."""

import json
import logging

import pytest

from alphanode.ops.logformat import JsonFormatter
from posts.importing import import_records
from tests.conftest import SAMPLE_JSON


def make_record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("alphanode.test", logging.INFO, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_a_record_is_one_line_of_json_with_its_extra_fields():
    line = JsonFormatter().format(make_record("hello %s", "world", event="thing", counts={"a": 1}))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "alphanode.test"
    assert entry["event"] == "thing"
    assert entry["counts"] == {"a": 1}
    assert entry["time"].endswith("Z")
    assert "args" not in entry and "msg" not in entry


def test_a_traceback_stays_on_the_same_line():
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        import sys

        line = JsonFormatter().format(make_record("failed", exc_info=sys.exc_info()))
    assert "\n" not in line
    assert "ValueError: bad" in json.loads(line)["exception"]


def test_objects_that_are_not_json_are_written_as_text():
    entry = json.loads(JsonFormatter().format(make_record("x", request=object())))
    assert entry["request"].startswith("<object object at")


@pytest.mark.django_db
def test_an_import_run_logs_one_json_line_with_counts_and_duration(capture, tmp_path):
    handler = capture("alphanode.import")
    import_records([str(SAMPLE_JSON)], workers=1, reject_path=tmp_path / "r.jsonl")
    finished = [json.loads(line) for line in handler.lines if "import finished" in line]
    assert len(finished) == 1
    entry = finished[0]
    assert entry["event"] == "import"
    assert entry["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "held": 0, "rejected": 0}
    assert isinstance(entry["duration_s"], float)
