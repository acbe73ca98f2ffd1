"""generate_posts: deterministic, varied, valid."""

import collections
import io
import json

from django.core.management import call_command

from posts import records
from posts.generating import generate_lines


def test_same_seed_same_bytes_and_other_seed_other_bytes():
    assert b"".join(generate_lines(50, seed=5)) == b"".join(generate_lines(50, seed=5))
    assert b"".join(generate_lines(50, seed=5)) != b"".join(generate_lines(50, seed=6))


def test_a_slice_regenerates_on_its_own():
    whole = list(generate_lines(20, seed=9))
    assert list(generate_lines(5, seed=9, start=10)) == whole[10:15]


def test_records_are_valid_unique_and_varied():
    items = [json.loads(line) for line in generate_lines(600, seed=2)]
    for item in items:
        records.validate(item)
    assert len({item["payload"]["source_id"] for item in items}) == 600
    assert len({item["reference"] for item in items}) == 600
    assert len({item["title"] for item in items}) > 100
    assert len({item["code_language"] for item in items}) >= 8
    assert {len(item["image_sources"]) for item in items} == {0, 1, 2, 3}
    flagged = sum(item["flags"]["needs_human_review"] for item in items)
    assert 150 < flagged < 250  # about a third
    counts = collections.Counter(tag for item in items for tag in item["tools"])
    assert "asyncio.gather" in counts


def test_command_writes_to_stdout_and_files(tmp_path, capsysbinary):
    call_command("generate_posts", "--count", "3", "--seed", "4")
    assert len(capsysbinary.readouterr().out.splitlines()) == 3
    call_command(
        "generate_posts", "--count", "3", "--seed", "4", "--output", str(tmp_path / "g.jsonl"), stdout=io.StringIO()
    )
    assert (tmp_path / "g.jsonl").read_bytes() == b"".join(generate_lines(3, seed=4))
