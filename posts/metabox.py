"""The article's "alphanode post meta" box: a post's record as rows of plain text and nested lists.

One row per field of the record, in the spec's order (records.FIELDS), key
with spaces for underscores. Title and body are left out: the article shows
them above the box. A field the record does not carry (null, empty text,
empty list or object) has no row; inside objects, null values are left out.
Scalars are one line of text, booleans 1 or 0, numbers as given, dates ISO
(the canonical record already holds them as text). Lists and objects become
nested items, never Python or JSON text. Nothing here is HTML: the template
escapes every string.
"""

from dataclasses import dataclass, field

from posts.records import FIELDS

SHOWN_ABOVE = ("title", "body")


@dataclass
class MetaItem:
    text: str = ""
    url: str = ""
    children: list["MetaItem"] = field(default_factory=list)


@dataclass
class MetaRow:
    key: str
    text: str = ""
    url: str = ""
    items: list[MetaItem] | None = None

    @property
    def is_list(self) -> bool:
        return self.items is not None


def label(key: str) -> str:
    return str(key).replace("_", " ")


def scalar_text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _items(value, links: dict[str, str]) -> list[MetaItem]:
    """Items for a list or an object; nested lists and objects become child items."""
    if isinstance(value, dict):
        items = []
        for key, inner in value.items():
            if inner is None:
                continue
            if isinstance(inner, dict | list):
                items.append(MetaItem(text=f"{label(key)}:", children=_items(inner, {})))
            else:
                items.append(MetaItem(text=f"{label(key)}: {scalar_text(inner)}"))
        return items
    items = []
    for inner in value:
        if isinstance(inner, dict | list):
            items.append(MetaItem(children=_items(inner, {})))
        else:
            text = scalar_text(inner)
            items.append(MetaItem(text=text, url=links.get(text, "")))
    return items


def meta_rows(record: dict, *, links: dict[str, dict[str, str]] | None = None) -> list[MetaRow]:
    """The rows of the box for a canonical record; `links` maps field -> {shown text: URL}."""
    links = links or {}
    rows = []
    for name in FIELDS:
        value = record.get(name)
        if name in SHOWN_ABOVE or _is_empty(value):
            continue
        field_links = links.get(name, {})
        if isinstance(value, dict | list):
            rows.append(MetaRow(key=label(name), items=_items(value, field_links)))
        else:
            text = scalar_text(value)
            rows.append(MetaRow(key=label(name), text=text, url=field_links.get(text, "")))
    return rows
