"""The admin's post form: it edits a post's *record* and validates it with the importer's schema.

The form starts from the stored record (or an empty one), puts the editor's
values in, and runs records.validate on the result, so the admin accepts
exactly what import_posts accepts and says why it refuses in the same words.
Form fields therefore carry no rules of their own (no max_length, no URL
check): a record error is mapped back to the field that caused it.

Image sources and entities are admin inlines, and the record is only valid as
a whole. Django validates the post form before the inline formsets and has no
hook that sees both, so the post admin gives the form and the formsets of one
request the same `record_parts` dict (through the public get_form and
get_formset_kwargs hooks): each formset puts itself in it when created, before
validation starts, and the post form's clean() validates the whole record.
"""

import csv
import json
import re

from django import forms
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from posts import records
from posts.exporting import record_of
from posts.models import ImageSource, Post, PostEntity

# Post fields the form edits as model fields; everything else is the record's.
SITE_FIELDS = ("slug", "state", "publish_at", "unpublish_at")
SCORE_KEYS = ("quality", "freshness", "depth", "clarity")


def _newlines(value: str) -> str:
    # Browsers submit textareas with CRLF line ends; the record has LF.
    return value.replace("\r\n", "\n").replace("\r", "\n")


class TextField(forms.CharField):
    """Text kept exactly as typed (no stripping); blank means absent when `blank_is_none`."""

    def __init__(self, *, blank_is_none: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)
        self.blank_is_none = blank_is_none

    def to_python(self, value):
        value = _newlines(super().to_python(value) or "")
        return None if self.blank_is_none and value == "" else value


class NamesField(forms.CharField):
    """Tag names separated by commas, in order; a name with a comma is written in double quotes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        text = (value or "").strip()
        if not text:
            return []
        row = next(csv.reader([text], skipinitialspace=True))
        return [name.strip() for name in row if name.strip()]

    def prepare_value(self, value):
        if not isinstance(value, list):
            return value
        return ", ".join(
            f'"{name.replace(chr(34), chr(34) * 2)}"' if "," in name or '"' in name else name for name in value
        )


class LinesField(forms.CharField):
    """A list of strings, one per line; a JSON list is accepted (and shown) when an item spans lines."""

    widget = forms.Textarea(attrs={"rows": 5})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        text = _newlines(value or "")
        if text.lstrip().startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                items = None
            if isinstance(items, list) and all(isinstance(item, str) for item in items):
                return items
        return [line for line in text.split("\n") if line.strip()]

    def prepare_value(self, value):
        if not isinstance(value, list):
            return value
        if any("\n" in item for item in value):
            return json.dumps(value, ensure_ascii=False, indent=2)
        return "\n".join(value)


class PairsField(forms.CharField):
    """A string-to-string object as `key: value` lines; a JSON object is accepted too."""

    widget = forms.Textarea(attrs={"rows": 5})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> dict | None:
        text = _newlines(value or "").strip()
        if not text:
            return None
        if text.startswith("{"):
            return _json_object(text)
        pairs = {}
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            key, colon, rest = line.partition(":")
            if not colon:
                raise forms.ValidationError(
                    "line %(number)s: expected `key: value`, found %(line)r",
                    code="pairs",
                    params={"number": number, "line": line},
                )
            pairs[key.strip()] = rest.strip()
        return pairs

    def prepare_value(self, value):
        if not isinstance(value, dict):
            return value
        if any("\n" in str(item) or ":" in key for key, item in value.items()):
            return json.dumps(value, ensure_ascii=False, indent=2)
        return "\n".join(f"{key}: {item}" for key, item in value.items())


class JSONObjectField(forms.CharField):
    """A JSON object, shown indented; blank means no keys."""

    widget = forms.Textarea(attrs={"rows": 6, "class": "editorial-code"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> dict:
        text = _newlines(value or "").strip()
        return _json_object(text) if text else {}

    def prepare_value(self, value):
        if not isinstance(value, dict):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2) if value else ""


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise forms.ValidationError(
            "expected a JSON object, found invalid JSON (%(error)s)", code="json", params={"error": error}
        ) from None
    if not isinstance(value, dict):
        raise forms.ValidationError(
            "expected a JSON object, found %(found)s", code="json", params={"found": records.describe(value)}
        )
    return value


def new_record() -> dict:
    """The record a new post starts from."""
    return {
        "title": "",
        "topic": "",
        "summary": "",
        "body": "",
        "ai_outline": None,
        "ai_brief": None,
        "stack": [],
        "tools": [],
        "code_language": None,
        "difficulty": None,
        "reading_time": None,
        "view_count": None,
        "score": None,
        "revision": {"status": "draft", "version": "1.0.0", "last_reviewed": None},
        "reference": "",
        "hash": None,
        "flags": dict.fromkeys(records.FLAG_NAMES, False),
        "checklist": [],
        "entities": [],
        "image_sources": [],
        "payload": {"source_id": ""},
        "notes": [],
    }


def posted_lock_version(data) -> int | None:
    """The lock_version a page posted back (the post as the user saw it); None when missing or malformed."""
    try:
        return int(data.get("lock_version", ""))
    except ValueError:
        return None


class RecordValidationError(forms.ValidationError):
    """A records.RecordError as a form error, in the importer's words."""

    def __init__(self, error: records.RecordError):
        super().__init__(
            "%(field)s: expected %(expected)s, found %(found)s",
            code="record",
            params={"field": error.field, "expected": error.expected, "found": error.found},
        )


_INLINE_ERROR = re.compile(r"^(?P<part>image_sources|entities)\[(?P<index>\d+)\](?:\.(?P<key>\w+))?")


class PostForm(forms.ModelForm):
    """Every record field of a post, plus its slug and publication state (see the module docstring)."""

    # Labels are sentence case; help texts say where readers meet the field
    # (the "alphanode post meta" box shows every record field but title and body).
    title = TextField(
        widget=forms.TextInput(attrs={"class": "vTextField editorial-wide"}),
        help_text="The article's headline: its page title and heading, and its name in lists, feeds and search.",
    )
    topic = TextField(
        widget=forms.TextInput(attrs={"class": "vTextField editorial-wide"}),
        help_text="Shown in the meta box, linking to the topic's page of posts.",
    )
    summary = TextField(
        widget=forms.Textarea(attrs={"rows": 3, "class": "editorial-wide"}),
        help_text="Shown in lists, feeds and the meta box, and as the description search engines show.",
    )
    body = TextField(
        widget=forms.Textarea(attrs={"rows": 32, "class": "editorial-markdown", "spellcheck": "true"}),
        help_text="The article's text in Markdown (CommonMark with fenced code blocks). The live preview shows it "
        "as readers will.",
    )
    reference = TextField(help_text="Shown in the meta box; unique across all posts, e.g. anp-ref-004577-4805.")
    source_id = TextField(
        label="Source ID",
        help_text="The record's identity (payload.source_id): an import with this source ID updates this post. "
        "It cannot change once the post exists.",
    )
    ai_outline = PairsField(
        label="AI outline", help_text="Shown in the meta box. One “key: value” per line; keys are snake_case."
    )
    ai_brief = TextField(
        label="AI brief",
        blank_is_none=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown in the meta box.",
    )
    stack = NamesField(
        widget=forms.TextInput(attrs={"class": "vTextField editorial-wide"}),
        help_text="The article's Stack list, in order, each linking to its page of posts. Comma-separated; quote "
        "a name that has a comma.",
    )
    tools = NamesField(
        widget=forms.TextInput(attrs={"class": "vTextField editorial-wide"}),
        help_text="The article's Tools list, in order, each linking to its page of posts. Comma-separated.",
    )
    code_language = TextField(
        label="Code language",
        blank_is_none=True,
        help_text="How the article's code is highlighted (a Pygments lexer name: python, go, sql, ...); shown in "
        "the meta box.",
    )
    difficulty = forms.TypedChoiceField(
        choices=[("", "(none)"), *Post.Difficulty.choices],
        required=False,
        empty_value=None,
        help_text="Shown in the meta box.",
    )
    reading_time = forms.IntegerField(
        label="Reading time", required=False, help_text="Minutes (0-600), shown in the meta box."
    )
    view_count = forms.IntegerField(
        label="View count",
        required=False,
        help_text="Shown in the meta box; the review queue lists the most read first.",
    )
    score_quality = forms.IntegerField(label="Quality score", required=False, help_text="0-100, shown in the meta box.")
    score_freshness = forms.IntegerField(
        label="Freshness score", required=False, help_text="0-100, shown in the meta box."
    )
    score_depth = forms.IntegerField(label="Depth score", required=False, help_text="0-100, shown in the meta box.")
    score_clarity = forms.IntegerField(label="Clarity score", required=False, help_text="0-100, shown in the meta box.")
    revision_status = TextField(
        label="Revision status",
        blank_is_none=True,
        help_text="Shown in the meta box: a short word such as draft, expanded, reviewed.",
    )
    ai_generated_style = forms.BooleanField(
        label="AI-generated style",
        required=False,
        help_text="Shown in the meta box's flags. Until a reviewer approves the post once, it waits in the review "
        "queue.",
    )
    has_images = forms.BooleanField(label="Has images", required=False, help_text="Shown in the meta box's flags.")
    image_heavy = forms.BooleanField(label="Image heavy", required=False, help_text="Shown in the meta box's flags.")
    needs_human_review = forms.BooleanField(
        label="Needs human review",
        required=False,
        help_text="Keeps the post out of search engines and in the review queue until a reviewer approves it.",
    )
    checklist = LinesField(help_text="Shown in the meta box, one item per line.")
    notes = LinesField(help_text="Shown in the meta box, one note per line.")
    payload = JSONObjectField(
        help_text="The generator's payload besides source_id, as a JSON object; shown in the meta box."
    )
    extra = JSONObjectField(
        label="Extra fields",
        help_text="Fields outside the record format, kept by “import_posts --keep-unknown”; not shown to readers.",
    )
    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    base_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Post
        fields = SITE_FIELDS

    # {record field: formset} of this request's inlines; the post admin's get_form sets it (see the module docstring).
    shared_record_parts: dict | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.record_parts = self.shared_record_parts if self.shared_record_parts is not None else {}
        self.check_lock_version = True
        self.record = None
        if self.instance.pk:
            stored = Post.objects.with_record_parts().with_revision_ids().get(pk=self.instance.pk)
            self.base_record = record_of(stored)
            self.initial.setdefault("lock_version", stored.lock_version)
            self.initial.setdefault("base_revision", stored.live_revision_id)
            self.live_revision_id = stored.live_revision_id
        else:
            self.base_record = new_record()
            self.live_revision_id = None
            if "slug" in self.fields:
                self.fields["slug"].required = False
                self.fields["slug"].help_text = "Leave empty to make one from the title."
        for name, value in _form_values(self.base_record).items():
            if name in self.fields:
                self.initial.setdefault(name, value)

    def clean_unpublish_at(self):
        publish_at, unpublish_at = self.cleaned_data.get("publish_at"), self.cleaned_data.get("unpublish_at")
        if publish_at and unpublish_at and unpublish_at <= publish_at:
            raise forms.ValidationError("Unpublish after the publication time.", code="unpublish_before_publish")
        return unpublish_at

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.instance.pk and self.check_lock_version:
            self._check_lock_version(cleaned)
        parts = self.record_parts
        if not all(formset.is_valid() for formset in parts.values()):
            return cleaned  # the inline rows show their own errors first
        record = self._record(cleaned, parts)
        if record is None:
            return cleaned
        try:
            canonical = records.validate(record, keep_unknown=True)
        except records.RecordError as error:
            self._add_record_error(error, parts)
            return cleaned
        self._check_identity(canonical)
        if not self.errors:
            self.record = canonical
        return cleaned

    def _record(self, cleaned: dict, parts: dict) -> dict | None:
        record = dict(self.base_record)
        for name in ("title", "topic", "summary", "body", "reference", "ai_outline", "ai_brief", "stack", "tools"):
            if name in self.fields:
                record[name] = cleaned[name]
        for name in ("code_language", "difficulty", "reading_time", "view_count", "checklist", "notes"):
            if name in self.fields:
                record[name] = cleaned[name]
        score = dict(record["score"] or dict.fromkeys(SCORE_KEYS))
        score.update({key: cleaned[f"score_{key}"] for key in SCORE_KEYS if f"score_{key}" in self.fields})
        record["score"] = score
        revision = records.revision_of(record)
        if "revision_status" in self.fields:
            revision["status"] = cleaned["revision_status"]
        record["revision"] = revision
        record["flags"] = {
            name: cleaned[name] if name in self.fields else record["flags"][name] for name in records.FLAG_NAMES
        }
        payload = dict(record["payload"])
        if "payload" in self.fields:
            if "source_id" in cleaned["payload"]:
                self.add_error("payload", "payload: source_id has its own field; remove it here")
                return None
            payload = {"source_id": payload["source_id"], **cleaned["payload"]}
        if "source_id" in self.fields:
            payload["source_id"] = cleaned["source_id"]
        record["payload"] = payload
        if "extra" in self.fields:
            taken = [name for name in cleaned["extra"] if name in records.FIELDS]
            if taken:
                self.add_error("extra", f"extra: expected fields outside the record format, found {', '.join(taken)}")
                return None
            record = {name: value for name, value in record.items() if name in records.FIELDS}
            record.update(cleaned["extra"])
        for part, formset in parts.items():
            record[part] = [item for _, item in formset.record_items()]
        return record

    def _add_record_error(self, error: records.RecordError, parts: dict) -> None:
        message = RecordValidationError(error)
        inline = _INLINE_ERROR.match(error.field)
        if inline and inline["part"] in parts:
            rows = parts[inline["part"]].record_items()
            index = int(inline["index"])
            if index < len(rows):
                form = rows[index][0]
                key = inline["key"] if inline["key"] in form.fields else None
                form.add_error(key, message)
                self.add_error(None, "An image source or entity below needs a correction.")
                return
        name = _form_field(error.field)
        self.add_error(name if name in self.fields else None, message)

    def _check_lock_version(self, cleaned: dict) -> None:
        """Refuse to overwrite a change saved since this form was opened (and show what it was)."""
        seen = cleaned.get("lock_version")
        current = self.instance.lock_version
        if seen is None or seen == current:
            return
        base = cleaned.get("base_revision") or self.live_revision_id
        url = reverse("admin:posts_post_revisions", args=[self.instance.pk])
        diff_url = f"{url}?old={base}&new={self.live_revision_id}#diff"
        # Saving again means "keep mine": the form now carries the current version.
        self.data = self.data.copy()
        self.data[self.add_prefix("lock_version")] = current
        self.data[self.add_prefix("base_revision")] = self.live_revision_id
        raise forms.ValidationError(
            format_html(
                "Someone saved this post after you opened it. Your changes are still in the form below. "
                '<a href="{}">See what they changed</a>. Save again to replace their version with yours, '
                "or reload the page to start from theirs.",
                diff_url,
            ),
            code="conflict",
        )

    def _check_identity(self, canonical: dict) -> None:
        source_id = canonical["payload"]["source_id"]
        others = Post.objects.exclude(pk=self.instance.pk) if self.instance.pk else Post.objects.all()
        if not self.instance.pk and others.filter(source_id=source_id).exists():
            self.add_error(
                "source_id",
                f"payload.source_id: expected a source_id no other post uses, found {source_id!r}",
            )
        owner = others.filter(reference=canonical["reference"]).values_list("source_id", flat=True).first()
        if owner is not None:
            self.add_error(
                "reference",
                f"reference: expected a reference no other post uses, found {canonical['reference']!r}, "
                f"already used by source_id {owner!r}",
            )


def _form_values(record: dict) -> dict:
    """Initial form values for a canonical record."""
    score = record["score"] or {}
    revision = record["revision"] or {}
    payload = {key: value for key, value in record["payload"].items() if key != "source_id"}
    values = {name: record[name] for name in ("title", "topic", "summary", "body", "reference", "ai_brief")}
    values |= {name: record[name] for name in ("stack", "tools", "code_language", "difficulty", "reading_time")}
    values |= {name: record[name] for name in ("view_count", "checklist", "notes", "ai_outline")}
    values |= {f"score_{key}": score.get(key) for key in SCORE_KEYS}
    values |= {name: record["flags"][name] for name in records.FLAG_NAMES}
    values |= {
        "revision_status": revision.get("status"),
        "payload": payload,
        "source_id": record["payload"]["source_id"],
        "extra": {name: value for name, value in record.items() if name not in records.FIELDS},
    }
    return values


def _form_field(record_field: str) -> str | None:
    """The form field that edits a record field path (score.quality -> score_quality, ...)."""
    path = record_field.split(" ", 1)[0]
    head, _, rest = path.partition(".")
    head = head.split("[", 1)[0]
    key = rest.split(".", 1)[0].split("[", 1)[0]
    if head == "score":
        return f"score_{key}" if key in SCORE_KEYS else "score_quality"
    if head == "flags":
        return key or None
    if head == "revision":
        return {"status": "revision_status"}.get(key)
    if head == "payload":
        return "source_id" if key == "source_id" else "payload"
    if head == "hash":
        return None
    if head in records.FIELDS:
        return head
    return "extra"


class RecordPartFormSet(BaseInlineFormSet):
    """An inline formset whose rows are one list of the record (image_sources or entities)."""

    record_field = ""

    def __init__(self, *args, record_parts: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if record_parts is not None:
            record_parts[self.record_field] = self

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # posts_write replaces a post's rows on every write, so a form opened
        # before the last write names row ids that are gone, and Django's
        # choice field would reject them. The rows are rebuilt from the record:
        # an id only says which stored row a form row started from.
        name = self.model._meta.pk.name
        stored = form.fields[name]
        form.fields[name] = forms.IntegerField(required=False, initial=stored.initial, widget=stored.widget)

    def record_items(self) -> list[tuple[forms.Form, dict]]:
        """The rows the record will have, in order, each with the form it came from."""
        items = []
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            if form.instance.pk is None and not form.has_changed():
                continue
            items.append((form, form.record_item()))
        return items


class ImageSourceFormSet(RecordPartFormSet):
    record_field = "image_sources"


class EntityFormSet(RecordPartFormSet):
    record_field = "entities"


class RecordPartForm(forms.ModelForm):
    """A row of a record list. The record schema validates it, not the model: posts_write stores it.

    Its fields are declared form fields, and the admin inline excludes the
    model fields of the same names (`exclude`, the public option), so
    ModelForm's model validation has nothing to check and the importer's
    messages are the only ones.
    """


class ImageSourceForm(RecordPartForm):
    source = TextField(help_text="The host credited under the image.")
    url = TextField(label="URL", widget=forms.TextInput(attrs={"class": "vURLField"}))
    caption = TextField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    class Meta:
        model = ImageSource
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("source", "url", "caption"):
                self.initial.setdefault(name, getattr(self.instance, name))

    def record_item(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in ("source", "url", "caption")}


class EntityForm(RecordPartForm):
    name = TextField()
    type = TextField(help_text="stack, area, problem, ...")

    class Meta:
        model = PostEntity
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("name", self.instance.entity.name)
            self.initial.setdefault("type", self.instance.entity.type)

    def record_item(self) -> dict:
        return {"name": self.cleaned_data.get("name") or "", "type": self.cleaned_data.get("type") or ""}
