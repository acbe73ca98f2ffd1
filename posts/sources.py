"""Where import records come from: files, directories, gzip and stdin, streamed.

Each input record comes out as a `RawRecord`: where it was (file:line, or
file[index] inside a JSON array) and its bytes exactly as given, so that a
rejected record can be written to the reject file unchanged. Nothing here
holds more than one record (or one read buffer) in memory.
"""

import gzip
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
_CHUNK = 1 << 20
_SPACE = re.compile(r"\s*")
BOM = b"\xef\xbb\xbf"
# Inside a broken array element: the next quote, bracket or comma, and the next quote or escape in a string.
_STRUCTURE = re.compile(r'["\[\]{},]')
_STRING_PART = re.compile(r'["\\]')


@dataclass(frozen=True, slots=True)
class RawRecord:
    location: str
    raw: bytes
    # Set when the bytes could not be split into a record at all (a broken JSON array).
    error: str | None = None


class SourceError(Exception):
    """An input path that cannot be read at all (missing, unreadable, unknown kind)."""


class SourceReadError(SourceError):
    """A file that broke while being read (a corrupt or truncated gzip, an I/O error)."""


def expand_paths(paths: list[str]) -> list[str]:
    """Resolve arguments to the files to read, in order; directories give their matching files by name."""
    files = []
    for name in paths:
        if name == "-":
            files.append(name)
            continue
        path = Path(name)
        if path.is_dir():
            files.extend(str(child) for child in sorted(path.iterdir()) if child.name.endswith(SUFFIXES))
        elif path.is_file():
            if not path.name.endswith(SUFFIXES):
                raise SourceError(f"{name}: unknown file kind; expected one of {', '.join(SUFFIXES)}")
            files.append(name)
        else:
            raise SourceError(f"{name}: no such file or directory")
    return files


def read_records(paths: list[str], stdin: io.BufferedReader | None = None) -> Iterator[RawRecord]:
    """Every input record of every path, in order."""
    for name in expand_paths(paths):
        if name == "-":
            yield from _jsonl_records("<stdin>", stdin or sys.stdin.buffer)
            continue
        opener = gzip.open if name.endswith(".gz") else open
        try:
            with opener(name, "rb") as stream:
                if name.removesuffix(".gz").endswith(".jsonl"):
                    yield from _jsonl_records(name, stream)
                else:
                    yield from _json_records(name, stream)
        except (OSError, EOFError) as error:
            raise SourceReadError(
                f"{name}: the file broke while being read ({type(error).__name__}: {error}); "
                "records read before that point were imported. Fix or replace the file and import it "
                "again: stored records come back unchanged."
            ) from error


def _jsonl_records(name: str, stream) -> Iterator[RawRecord]:
    for number, line in enumerate(stream, start=1):
        raw = line.rstrip(b"\r\n")
        if number == 1:
            # Editors on Windows start UTF-8 files with a byte order mark; it is not part of the record.
            raw = raw.removeprefix(BOM)
        if raw.strip():
            yield RawRecord(f"{name}:{number}", raw)


def _json_records(name: str, stream) -> Iterator[RawRecord]:
    """A .json file: one object, or an array of objects streamed element by element."""
    reader = _TextBuffer(stream)
    first = reader.peek_non_space()
    if first != "[":
        text = reader.rest()
        if text.strip():
            yield RawRecord(f"{name}", _encode(text))
        return
    reader.advance(1)
    decoder = json.JSONDecoder()
    index = 0
    while True:
        char = reader.peek_non_space()
        if char == "]":
            return
        if index and char == ",":
            reader.advance(1)
            reader.peek_non_space()
        elif index or char == "":
            yield _broken(name, index, reader, "',' or ']' between array elements")
            return
        try:
            end = reader.decode_next(decoder)
        except (ValueError, RecursionError) as error:
            # Cut the element at the next top-level ',' or ']' and reject it alone; the rest still imports.
            end = reader.element_end()
            if end is None:
                yield _broken(name, index, reader, f"a JSON value ({error})")
                return
        yield RawRecord(f"{name}[{index}]", _encode(reader.take(end)))
        index += 1


def _broken(name: str, index: int, reader: "_TextBuffer", expected: str) -> RawRecord:
    return RawRecord(f"{name}[{index}]", _encode(reader.rest()), error=f"the array breaks here; expected {expected}")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class _TextBuffer:
    """A growing window over a UTF-8 stream, enough to cut one JSON value at a time."""

    def __init__(self, stream):
        # surrogateescape keeps invalid UTF-8 bytes so the record can be rejected on its own, unchanged.
        # utf-8-sig: a leading byte order mark is skipped.
        self._stream = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape")
        self._text = ""
        self._pos = 0
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._text = self._text[self._pos :] + chunk
        self._pos = 0
        return True

    def peek_non_space(self) -> str:
        while True:
            self._pos = _SPACE.match(self._text, self._pos).end()
            if self._pos < len(self._text):
                return self._text[self._pos]
            if not self._fill():
                return ""

    def advance(self, count: int) -> None:
        self._pos += count

    def decode_next(self, decoder: json.JSONDecoder) -> int:
        """Length of the next JSON value; reads more input until the value is complete."""
        while True:
            try:
                _, end = decoder.raw_decode(self._text, self._pos)
            except json.JSONDecodeError:
                if self._fill():
                    continue
                raise
            # A number at the end of the buffer may continue in the next chunk.
            if end == len(self._text) and self._fill():
                continue
            return end - self._pos

    def element_end(self) -> int | None:
        """Length of the (invalid) element here, up to the next top-level ',' or ']'; None if it never ends."""
        depth, offset, in_string = 0, 0, False
        while True:
            pattern = _STRING_PART if in_string else _STRUCTURE
            match = pattern.search(self._text, self._pos + offset)
            # An escape at the end of the buffer needs the character after it: read more first.
            if match is None or (match.group() == "\\" and match.end() == len(self._text)):
                offset = (len(self._text) if match is None else match.start()) - self._pos
                if not self._fill():
                    return None
                continue
            char, offset = match.group(), match.end() - self._pos
            if in_string:
                offset += char == "\\"  # skip the escaped character
                in_string = char == "\\"
            elif char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
            elif char in "]}" and depth:
                depth -= 1
            elif char in ",]" and not depth:
                return match.start() - self._pos

    def take(self, length: int) -> str:
        value = self._text[self._pos : self._pos + length]
        self._pos += length
        return value

    def rest(self) -> str:
        while self._fill():
            pass
        value = self._text[self._pos :]
        self._pos = len(self._text)
        return value
