"""Readable differences between two records: field by field for the meta, line by line for the body.

Plain functions over canonical records (see records.py), so the history page,
the review queue and the conflict message all show the same diff. Nothing
here builds HTML: templates escape every piece of text they are given.
"""

import difflib
import json
import re
from dataclasses import dataclass

from posts import records

# Lines longer than this are marked changed as a whole: word-level matching of
# huge single-line bodies would cost more than it tells the reader.
_INLINE_LIMIT = 2000
_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text in a changed line; `changed` marks what the other side lacks."""

    text: str
    changed: bool = False


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "equal", "delete" or "insert"
    old_number: int | None
    new_number: int | None
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments)


@dataclass(frozen=True, slots=True)
class Hunk:
    """Changed lines with a few unchanged lines of context around them."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[DiffLine, ...]

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One meta field that differs; `lines` is set when either side spans several lines."""

    name: str
    old: str | None
    new: str | None
    lines: tuple[DiffLine, ...] = ()

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True, slots=True)
class RecordDiff:
    fields: tuple[FieldChange, ...] = ()
    body: tuple[Hunk, ...] = ()
    body_stats: tuple[int, int] = (0, 0)  # lines removed, lines added

    @property
    def identical(self) -> bool:
        return not self.fields and not self.body


def record_diff(old: dict | None, new: dict, *, context: int = 3) -> RecordDiff:
    """What changed from `old` to `new` (both canonical records); `old=None` shows everything as added."""
    old_meta = meta_values(old) if old is not None else {}
    new_meta = meta_values(new)
    changes = []
    for name in _ordered_union(old_meta, new_meta):
        before, after = old_meta.get(name), new_meta.get(name)
        if before == after:
            continue
        multiline = "\n" in (before or "") or "\n" in (after or "")
        lines = tuple(line for hunk in _hunks(before or "", after or "", None) for line in hunk.lines)
        changes.append(FieldChange(name, before, after, lines if multiline else ()))
    old_body = old["body"] if old is not None else ""
    body = tuple(_hunks(old_body, new["body"], context))
    removed = sum(1 for hunk in body for line in hunk.lines if line.kind == "delete")
    added = sum(1 for hunk in body for line in hunk.lines if line.kind == "insert")
    return RecordDiff(tuple(changes), body, (removed, added))


def body_diff(old: str, new: str, *, context: int = 3) -> list[Hunk]:
    """The Markdown body, line by line, as hunks with `context` unchanged lines around each change."""
    return list(_hunks(old, new, context))


def meta_values(record: dict) -> dict[str, str | None]:
    """Every field except the body as readable text, keyed by dotted name in the spec's order.

    Objects are spread into their keys (score.quality, flags.has_images, ...) so
    a change shows exactly which key moved; lists become one item per line.
    None means the field is absent from the record.
    """
    values: dict[str, str | None] = {}
    for name in records.FIELDS:
        if name == "body":
            continue
        value = record.get(name)
        if name in ("score", "revision", "flags", "payload", "ai_outline"):
            keys = _object_keys(name, value)
            for key in keys:
                values[f"{name}.{key}"] = _text((value or {}).get(key))
        elif name == "entities":
            values[name] = _lines(f"{entity['name']} ({entity['type']})" for entity in value)
        elif name == "image_sources":
            values[name] = _lines(f"{image['source']} | {image['url']} | {image['caption']}" for image in value)
        elif isinstance(value, list):
            values[name] = _lines(value)
        else:
            values[name] = _text(value)
    for name, value in record.items():
        if name not in records.FIELDS:
            values[name] = _text(value)
    return values


def _object_keys(name: str, value: dict | None) -> list[str]:
    known = {
        "score": ("quality", "freshness", "depth", "clarity"),
        "revision": ("status", "version", "last_reviewed"),
        "flags": records.FLAG_NAMES,
    }
    keys = list(known.get(name, ()))
    keys += [key for key in (value or {}) if key not in keys]
    return keys


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, indent=2)


def _lines(items) -> str | None:
    items = [str(item) for item in items]
    return "\n".join(items) if items else None


def _ordered_union(first: dict, second: dict) -> list[str]:
    names = list(second)
    names += [name for name in first if name not in second]
    return names


def _hunks(old: str, new: str, context: int | None):
    """Hunks of a line diff; context=None gives one hunk holding every line."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    if context is None:
        groups = [matcher.get_opcodes()] if old_lines != new_lines else []
    else:
        groups = list(matcher.get_grouped_opcodes(context)) if old_lines != new_lines else []
    for group in groups:
        lines = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [
                    DiffLine("equal", i + 1, j + 1, (Segment(old_lines[i]),))
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            removed, added = old_lines[i1:i2], new_lines[j1:j2]
            pairs = list(zip(removed, added, strict=False)) if tag == "replace" else []
            inline = [_inline(a, b) for a, b in pairs]
            lines += [
                DiffLine("delete", i1 + k + 1, None, inline[k][0] if k < len(inline) else (Segment(text),))
                for k, text in enumerate(removed)
            ]
            lines += [
                DiffLine("insert", None, j1 + k + 1, inline[k][1] if k < len(inline) else (Segment(text),))
                for k, text in enumerate(added)
            ]
        first, last = group[0], group[-1]
        yield Hunk(first[1] + 1, last[2] - first[1], first[3] + 1, last[4] - first[3], tuple(lines))


def _inline(old: str, new: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Word-level segments of a changed line pair, so the reader sees what moved within a line."""
    if len(old) > _INLINE_LIMIT or len(new) > _INLINE_LIMIT:
        return (Segment(old, True),), (Segment(new, True),)
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    old_segments, new_segments = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            old_segments.append(Segment("".join(a[i1:i2]), tag != "equal"))
        if j2 > j1:
            new_segments.append(Segment("".join(b[j1:j2]), tag != "equal"))
    return tuple(old_segments) or (Segment(""),), tuple(new_segments) or (Segment(""),)
