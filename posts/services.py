"""Every write to a post: import, admin edit, review decision and rollback.

There is one path, `posts_write`, and it is batch-shaped: the importer hands
it a thousand records, the admin a batch of one. It classifies each record
against what is stored (create, update, unchanged, held for review), writes
posts and their tags, entities and image sources set-based, writes one
revision per change, and schedules the page-cache purge for after the commit.

The rule for an import that arrives after an editor's change: the post keeps
the editor's content, the import is stored as a revision with applied=False,
and the post goes to the review queue (pending_import). A reviewer applies or
ignores it; a re-import of the same generator output changes nothing.
"""

import datetime
import functools
import hashlib
from dataclasses import dataclass, field, replace

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Case, F, Max, Q, When
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag

from posts import bulk, exporting, fragments, records, rendering, search
from posts.models import Entity, ImageSource, Post, PostEntity, Revision, StackTag, ToolTag, is_visible
from posts.querysets import review_reasons
from posts.records import RecordError
from posts.signals import posts_changed


@dataclass(slots=True)
class PreparedRecord:
    """A validated record with what writing it needs: its JSON line, hash and rendered body."""

    canonical: dict
    line: bytes
    hash: str
    html: str
    location: str = ""
    raw: bytes | None = None
    # {"publish_at": datetime | None, "unpublish_at": ...} for the post an import creates (posts/scheduling.py).
    schedule: dict | None = None
    # The article's stored markup (fragments.render_markup) rendered with the slugs its tags and
    # entities are likely to have, and those slugs: the writer keeps it when they are the real ones.
    markup: dict | None = None
    markup_slugs: tuple | None = None
    # The record's payload.source_id; read a dozen times a record by the writer.
    source_id: str = field(init=False)
    # Worked out where the record is prepared (an import's workers) rather than by the single
    # writer, which asked slugify (~35 µs) twice a record for them.
    slug_options: tuple[str, ...] = field(init=False)
    search_terms: str = field(init=False)

    def __post_init__(self):
        self.source_id = self.canonical["payload"]["source_id"]
        self.slug_options = _post_slug_options(self.canonical["title"], self.source_id)
        self.search_terms = search.search_terms(self.canonical)


def prepare_record(canonical: dict, *, location: str = "", raw: bytes | None = None) -> PreparedRecord:
    """Render and hash a canonical record; CPU-only, so the importer runs it in worker processes.

    The meta box and tag lists link to tag, entity and topic pages by slug, which
    the database assigns; they are rendered here with the slugs a new tag or
    entity gets (the first of its slug options), which existing ones nearly always
    have too, and the writer renders again only when a slug differs. This moves
    ~1 ms a record off the import's single writer process.
    """
    line = records.record_line(canonical)
    slugs = (
        {name: _tag_slug_options(name)[0] for name in (*canonical["stack"], *canonical["tools"])},
        {(e["name"], e["type"]): _entity_slug_options(e["name"], e["type"])[0] for e in canonical["entities"]},
        topic_slug(canonical["topic"]),
    )
    return PreparedRecord(
        canonical=canonical,
        line=line,
        hash=records.line_hash(line),
        html=rendering.render_record(canonical),
        location=location,
        raw=raw,
        markup=fragments.render_markup(canonical, tag_slugs=slugs[0], entity_slugs=slugs[1], topic_slug=slugs[2]),
        markup_slugs=slugs,
    )


@dataclass(frozen=True, slots=True)
class PostPlacement:
    """Where a post shows up on the site: its URL, whether it is listed, the listings it is in."""

    slug: str
    published: bool
    topic: str
    stack: frozenset[str] = frozenset()
    tools: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PostChange:
    """One post's placement before and after a write (None: did not exist / was deleted).

    The page cache purges from this alone, so every service that changes what
    readers see reports a PostChange.
    """

    post_id: int
    before: PostPlacement | None
    after: PostPlacement | None


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    held: int = 0
    rejected: list[tuple[PreparedRecord, RecordError]] = field(default_factory=list)
    changes: list[PostChange] = field(default_factory=list)
    post_ids: dict[str, int] = field(default_factory=dict)

    def add(self, other: "WriteResult") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.held += other.held
        self.rejected.extend(other.rejected)
        self.changes.extend(other.changes)
        self.post_ids.update(other.post_ids)


class EditConflict(Exception):
    """The post changed since the editor loaded it; saving would overwrite someone's work."""

    def __init__(self, post_id: int, expected: int, found: int):
        self.post_id, self.expected, self.found = post_id, expected, found
        super().__init__(
            f"post {post_id} was changed by someone else since you opened it "
            f"(your copy is version {expected} of the post, the stored one {found})"
        )


# Post columns an update may change; slug, state, created_at and published_at
# belong to the site, not to the record, and only their own services change them.
_UPDATED_COLUMNS = [
    *(name for name in records.POST_COLUMNS if name != "source_id"),
    "body_html",
    "record_hash",
    "import_hash",
    "lock_version",
    "pending_import",
    "flagged_at",
    "reviewed_by_id",
    "changed_since_approval",
    "updated_at",
    "topic_slug",
    "search_terms",
    "meta_html",
    "tags_html",
    "page_facts",
]
_EXISTING_COLUMNS = (
    "id",
    "source_id",
    "reference",
    "slug",
    "state",
    "published_at",
    "created_at",
    "record_hash",
    "import_hash",
    "lock_version",
    "pending_import",
    "flagged_at",
    "reviewed_by_id",
    "changed_since_approval",
    "topic",
    "publish_at",
    "unpublish_at",
)


def posts_write(
    prepared: list[PreparedRecord],
    *,
    reason: str,
    author=None,
    note: str = "",
    new_state: str = Post.State.PUBLISHED,
    expected_lock_versions: dict[str, int] | None = None,
    approve: bool = False,
    clear_pending: bool = False,
) -> WriteResult:
    """Write a batch of records in one transaction and return what happened to each.

    reason: a Revision.Reason. IMPORT applies the editor-change rule above;
        EDIT bumps the version's last number; ROLLBACK and REVIEW write the
        record as given.
    expected_lock_versions: {source_id: lock_version} the editor saw; a
        mismatch raises EditConflict and writes nothing.
    approve: mark the written revisions approved and the posts reviewed by `author`.
    clear_pending: the write settles a held-back import (a reviewer's decision).
    Records that cannot be stored (a reference another post uses) come back in
    `rejected`; they never cost the batch its other records.
    """
    result = WriteResult()
    if not prepared:
        return result
    with transaction.atomic():
        bulk.lock_writes()
        existing = {
            row["source_id"]: row
            for row in Post.objects.filter(source_id__any_of=[item.source_id for item in prepared]).values(
                *_EXISTING_COLUMNS
            )
        }
        _check_lock_versions(existing, expected_lock_versions or {})
        accepted = _reject_taken_references(prepared, existing, result)
        now = timezone.now()
        writes, held = [], []
        taken = _taken_versions(accepted, existing) if reason == Revision.Reason.EDIT else {}
        for item in accepted:
            current = existing.get(item.source_id)
            action = _classify(item, current, reason)
            if action == "unchanged":
                result.unchanged += 1
                result.post_ids[item.source_id] = current["id"]
            elif action == "held":
                held.append((item, current))
            else:
                if reason == Revision.Reason.EDIT and current is not None:
                    item = _with_bumped_version(item, taken.get(current["id"], set()))
                writes.append((item, current))
        slugs = _new_slugs([item for item, current in writes if current is None])
        changed = set() if approve else _reader_content_changed(writes)
        # Tags and entities first: the stored fragments link to their pages.
        tags, entities = _related_keys([item.canonical for item, current in writes])
        rows = [
            _post_row(
                item,
                current,
                reason=reason,
                author=author,
                now=now,
                slug=slugs.get(item.source_id),
                new_state=new_state,
                approve=approve,
                clear_pending=clear_pending,
                reader_changed=current is not None and current["id"] in changed,
                tags=tags,
                entities=entities,
            )
            for item, current in writes
        ]
        # New posts go straight in (no upsert): the write lock keeps their source_ids new.
        new = [(item, row) for (item, current), row in zip(writes, rows, strict=True) if current is None]
        new_ids = bulk.insert_new(Post, [row for item, row in new])
        ids = dict(zip([item.source_id for item, row in new], new_ids, strict=True))
        updates = [row for (item, current), row in zip(writes, rows, strict=True) if current is not None]
        ids.update(bulk.upsert(Post, updates, key="source_id", update=_UPDATED_COLUMNS))
        updated_ids = [current["id"] for item, current in writes if current is not None]
        before = post_placements(updated_ids)
        _replace_related(
            [(ids[item.source_id], item.canonical) for item, current in writes], updated_ids, tags, entities
        )
        after = {
            ids[item.source_id]: _written_placement(row, current, item.canonical, tags, entities, now)
            for (item, current), row in zip(writes, rows, strict=True)
        }
        revisions = [
            _revision_row(item, ids[item.source_id], reason, author, note, now, applied=True, approved=approve)
            for item, current in writes
        ]
        revisions += [
            _revision_row(item, current["id"], reason, author, note, now, applied=False, approved=False)
            for item, current in held
        ]
        _number_revisions(revisions, new_post_ids={ids[item.source_id] for item, row in new})
        bulk.insert(Revision, revisions)
        for item, current in held:
            Post.objects.filter(pk=current["id"]).update(
                pending_import=True, import_hash=item.hash, flagged_at=current["flagged_at"] or now
            )
        for item, current in writes:
            post_id = ids[item.source_id]
            result.post_ids[item.source_id] = post_id
            if current is None:
                result.created += 1
            else:
                result.updated += 1
            result.changes.append(PostChange(post_id, before.get(post_id), after[post_id]))
        for item, current in held:
            result.held += 1
            result.post_ids[item.source_id] = current["id"]
        schedule_purge(result.changes, user=author)
    return result


def _check_lock_versions(existing: dict, expected: dict[str, int]) -> None:
    for source_id, lock_version in expected.items():
        current = existing.get(source_id)
        if current is not None and current["lock_version"] != lock_version:
            raise EditConflict(current["id"], lock_version, current["lock_version"])


def _reject_taken_references(prepared, existing, result: WriteResult) -> list[PreparedRecord]:
    """Drop records whose reference belongs to another post (stored, or earlier in this batch)."""
    owners = dict(
        Post.objects.filter(reference__any_of=[item.canonical["reference"] for item in prepared]).values_list(
            "reference", "source_id"
        )
    )
    accepted = []
    for item in prepared:
        reference = item.canonical["reference"]
        owner = owners.setdefault(reference, item.source_id)
        if owner != item.source_id:
            error = RecordError(
                field="reference",
                expected="a reference no other post uses",
                found=f"{reference!r}, already used by source_id {owner!r}",
                source_id=item.source_id,
                location=item.location,
            )
            result.rejected.append((item, error))
        else:
            accepted.append(item)
    return accepted


def _classify(item: PreparedRecord, current: dict | None, reason: str) -> str:
    if current is None:
        return "create"
    if item.hash == current["record_hash"]:
        return "unchanged"
    if reason != Revision.Reason.IMPORT:
        return "update"
    if item.hash == current["import_hash"]:
        # The generator sent what it sent before; the post differs because an editor changed it.
        return "unchanged"
    if current["record_hash"] != current["import_hash"]:
        pending = Revision.objects.filter(post_id=current["id"], applied=False, record_hash=item.hash)
        return "unchanged" if pending.exists() else "held"
    return "update"


def bump_version(version: str | None) -> str:
    """An editor's change bumps the last number: 1.5.8 -> 1.5.9."""
    if not version:
        return "1"
    *head, last = version.split(".")
    return ".".join([*head, str(int(last) + 1)])


def _taken_versions(items: list[PreparedRecord], existing: dict) -> dict[int, set[str]]:
    """{post id: every version its revisions carry}: an edit's bump must not reuse one (after a rollback)."""
    ids = [existing[item.source_id]["id"] for item in items if item.source_id in existing]
    taken = {}
    for post_id, version in Revision.objects.filter(post_id__in=ids).values_list("post_id", "version"):
        taken.setdefault(post_id, set()).add(version)
    return taken


def _with_bumped_version(item: PreparedRecord, taken: set[str] = frozenset()) -> PreparedRecord:
    """The record with its version's last number bumped past every version the post already had."""
    canonical = dict(item.canonical)
    revision = records.revision_of(canonical)
    version = bump_version(revision["version"])
    while version in taken:
        version = bump_version(version)
    revision["version"] = version
    canonical["revision"] = revision
    line = records.record_line(canonical)
    return PreparedRecord(
        canonical=canonical,
        line=line,
        hash=records.line_hash(line),
        html=item.html,
        location=item.location,
        raw=item.raw,
    )


def in_review_queue(post) -> bool:
    """Whether a post (or a mapping of its column values) waits for a reviewer: querysets.REVIEW_REASONS."""
    return bool(review_reasons(post))


# What readers see of a post: a change to these after an approval sends it back to the queue
# ("changed since approval"); metadata (tags, scores, notes, ...) does not.
READER_FIELDS = ("title", "summary", "body", "image_sources", "code_language")


def _reader_content(record: dict) -> tuple:
    return tuple(
        [(i["source"], i["url"], i["caption"]) for i in record[name]] if name == "image_sources" else record[name]
        for name in READER_FIELDS
    )


def _reader_content_changed(writes: list[tuple[PreparedRecord, dict | None]]) -> set[int]:
    """Ids of approved posts whose reader-visible content this write changes (two queries)."""
    approved = {current["id"]: item for item, current in writes if current and current["reviewed_by_id"] is not None}
    if not approved:
        return set()
    stored = {
        row["id"]: {**row, "image_sources": []}
        for row in Post.objects.filter(pk__in=approved).values("id", "title", "summary", "body", "code_language")
    }
    for image in ImageSource.objects.filter(post_id__in=approved).order_by("post_id", "position").values():
        stored[image["post_id"]]["image_sources"].append(image)
    return {
        post_id
        for post_id, item in approved.items()
        if _reader_content(item.canonical) != _reader_content(stored[post_id])
    }


def _number_revisions(rows: list[dict], *, new_post_ids: set[int] = frozenset()) -> None:
    """Give each new revision row its post's next number (1, 2, 3, ...); batch writers are serialized.

    new_post_ids: posts this write created, which have no revisions yet.
    """
    stored = {row["post_id"] for row in rows} - new_post_ids
    last = dict(
        Revision.objects.filter(post_id__in=stored)
        .values("post_id")
        .annotate(last=Max("number"))
        .values_list("post_id", "last")
        if stored
        else ()
    )
    for row in rows:
        row["number"] = last[row["post_id"]] = last.get(row["post_id"], 0) + 1


def _post_row(
    item, current, *, reason, author, now, slug, new_state, approve, clear_pending, tags, entities, reader_changed=False
) -> dict:
    fields = records.post_fields(item.canonical)
    is_import = reason == Revision.Reason.IMPORT
    if current is None:
        site = {
            "slug": slug,
            "state": new_state,
            "published_at": now if new_state == Post.State.PUBLISHED else None,
            "created_at": now,
            "lock_version": 1,
            "import_hash": item.hash if is_import else "",
            "pending_import": False,
            "reviewed_by_id": author.pk if approve and author else None,
            "changed_since_approval": False,
        }
        flagged_before = None
    else:
        site = {
            "slug": current["slug"],
            "state": current["state"],
            "published_at": current["published_at"],
            "created_at": current["created_at"],
            "lock_version": current["lock_version"] + 1,
            "import_hash": item.hash if is_import else current["import_hash"],
            "pending_import": False if (is_import or clear_pending) else current["pending_import"],
            "reviewed_by_id": _reviewer_after_update(current, approve=approve, author=author, is_import=is_import),
            "changed_since_approval": False if approve else (current["changed_since_approval"] or reader_changed),
        }
        flagged_before = current["flagged_at"]
    queued = in_review_queue({**fields, **site})
    topic = topic_slug(fields["topic"])
    return {
        **fields,
        **site,
        "body_html": item.html,
        **_markup(item, tags, entities, topic),
        "page_facts": fragments.page_facts(item.canonical, tags=tags, entities=entities),
        "topic_slug": topic,
        "search_terms": item.search_terms,
        "record_hash": item.hash,
        "flagged_at": (flagged_before or now) if queued else None,
        "updated_at": now,
    }


def _written_placement(row: dict, current: dict | None, canonical: dict, tags, entities, now) -> PostPlacement:
    """Where a post just written shows up: post_placements' answer, from the row it was written with."""
    schedule = current or {"publish_at": None, "unpublish_at": None}
    return PostPlacement(
        slug=row["slug"],
        published=is_visible(row["state"], schedule["publish_at"], schedule["unpublish_at"], now),
        topic=row["topic_slug"],
        stack=frozenset(tags[name][1] for name in canonical["stack"]),
        tools=frozenset(tags[name][1] for name in canonical["tools"]),
        entities=frozenset(entities[(e["name"], e["type"])][1] for e in canonical["entities"]),
    )


def _markup(item: PreparedRecord, tags: dict, entities: dict, topic: str) -> dict:
    """The record's stored markup: prepare_record's when it used the real slugs, else rendered now."""
    canonical = item.canonical
    slugs = (fragments.record_slugs(canonical, tags), fragments.record_entity_slugs(canonical, entities), topic)
    if item.markup is not None and item.markup_slugs == slugs:
        return item.markup
    return fragments.render_markup(item.canonical, tag_slugs=slugs[0], entity_slugs=slugs[1], topic_slug=topic)


def _reviewer_after_update(current: dict, *, approve: bool, author, is_import: bool) -> int | None:
    """Who reviewed the post's content: the approver; nobody once the generator replaced the content."""
    if approve and author:
        return author.pk
    return None if is_import else current["reviewed_by_id"]


def _revision_row(item, post_id, reason, author, note, now, *, applied, approved) -> dict:
    revision = item.canonical["revision"] or {}
    return {
        "post_id": post_id,
        "version": revision.get("version") or "",
        "status": revision.get("status") or "",
        "last_reviewed": datetime.date.fromisoformat(reviewed) if (reviewed := revision.get("last_reviewed")) else None,
        "snapshot": item.line.decode(),
        "record_hash": item.hash,
        "created_at": now,
        "author_id": author.pk if author else None,
        "reason": reason,
        "note": note,
        "applied": applied,
        "approved": approved,
    }


def _free_slugs(model, wanted: dict) -> dict:
    """For each key, the first of its candidate slugs that no row of `model` (nor an earlier key) has.

    One query for the whole batch; a key whose candidates are all taken maps to None.
    """
    candidates = [slug for options in wanted.values() for slug in options]
    taken = set(model.objects.filter(slug__any_of=candidates).values_list("slug", flat=True))
    chosen = {}
    for key, options in wanted.items():
        chosen[key] = next((option for option in options if option not in taken), None)
        taken.add(chosen[key])
    return chosen


def _post_slug_options(title: str, source_id: str) -> tuple[str, str, str]:
    """A new post's slug: the title's, or the title's plus the source id when taken (_new_slugs)."""
    base = slugify(title)[:120].strip("-") or "post"
    return (
        base,
        f"{base}-{slugify(source_id)[:60]}".strip("-"),
        f"{base}-{hashlib.sha256(source_id.encode()).hexdigest()[:12]}",
    )


def _new_slugs(items: list[PreparedRecord]) -> dict[str, str]:
    """A unique slug per new post: the title's, or the title's plus the source id when taken."""
    wanted = {item.source_id: item.slug_options for item in items}
    chosen = _free_slugs(Post, wanted)
    for source_id, slug in chosen.items():
        if slug is None:
            raise RecordError(
                field="title", expected="a title whose slug is free", found=wanted[source_id][0], source_id=source_id
            )
    return chosen


def _related_keys(canonicals: list[dict]) -> tuple[dict, dict]:
    """(tags {name: (id, slug)}, entities {(name, type): (id, slug)}) of the records, created when missing."""
    tags = _tag_ids({name for record in canonicals for name in (*record["stack"], *record["tools"])})
    entities = _entity_ids({(e["name"], e["type"]) for record in canonicals for e in record["entities"]})
    return tags, entities


def _tag_ids(names: set[str]) -> dict[str, tuple[int, str]]:
    """Tag (id, slug) by name, creating the missing tags with unique slugs."""

    def lookup(names) -> dict[str, tuple[int, str]]:
        return {
            name: (pk, slug) for name, pk, slug in Tag.objects.filter(name__in=names).values_list("name", "id", "slug")
        }

    found = lookup(names)
    missing = sorted(names - found.keys())
    if missing:
        slugs = _free_slugs(Tag, {name: _tag_slug_options(name) for name in missing})
        bulk.insert_missing(Tag, [{"name": name, "slug": slug} for name, slug in slugs.items()])
        found.update(lookup(missing))
    return found


def _entity_ids(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """Entity (id, slug) by (name, type), creating the missing entities with unique slugs."""

    def lookup(names) -> dict[tuple[str, str], tuple[int, str]]:
        rows = Entity.objects.filter(name__in=names).values_list("name", "type", "id", "slug")
        return {(name, kind): (pk, slug) for name, kind, pk, slug in rows if (name, kind) in pairs}

    found = lookup({name for name, _ in pairs})
    missing = sorted(pairs - found.keys())
    if missing:
        slugs = _free_slugs(Entity, {pair: _entity_slug_options(*pair) for pair in missing})
        bulk.insert_missing(Entity, [{"name": n, "type": k, "slug": slug} for (n, k), slug in slugs.items()])
        found.update(lookup({name for name, _ in missing}))
    return found


# Tags and entities repeat across records, and slugify is slow (~35 µs): prepare_record asks
# for a handful per record in the import's workers.
@functools.lru_cache(maxsize=8192)
def _slug_options(text: str, max_length: int) -> tuple[str, ...]:
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    base = slugify(text)[: max_length - 11].strip("-")
    return (base, f"{base}-{digest}") if base else (digest,)


def _tag_slug_options(name: str) -> tuple[str, ...]:
    return _slug_options(name, 100)


def _entity_slug_options(name: str, kind: str) -> tuple[str, ...]:
    return _slug_options(f"{kind} {name}", 300)


def _replace_related(items: list[tuple[int, dict]], updated_ids: list[int], tags: dict, entities: dict) -> None:
    """Replace tags, entities and image sources of the written posts, set-based."""
    for model, fk in (
        (StackTag, "content_object_id"),
        (ToolTag, "content_object_id"),
        (PostEntity, "post_id"),
        (ImageSource, "post_id"),
    ):
        bulk.delete_for(model, fk, updated_ids)
    stack, tools, links, images = [], [], [], []
    for post_id, record in items:
        stack += [
            {"content_object_id": post_id, "tag_id": tags[n][0], "position": i} for i, n in enumerate(record["stack"])
        ]
        tools += [
            {"content_object_id": post_id, "tag_id": tags[n][0], "position": i} for i, n in enumerate(record["tools"])
        ]
        links += [
            {"post_id": post_id, "entity_id": entities[(e["name"], e["type"])][0], "position": i}
            for i, e in enumerate(record["entities"])
        ]
        images += [{"post_id": post_id, "position": i, **image} for i, image in enumerate(record["image_sources"])]
    bulk.insert(StackTag, stack)
    bulk.insert(ToolTag, tools)
    bulk.insert(PostEntity, links)
    bulk.insert(ImageSource, images)


# Topics repeat across posts, and the writer asks once a record.
@functools.lru_cache(maxsize=8192)
def topic_slug(topic: str) -> str:
    """The slug of a topic's page (empty when the topic has no letters or digits: no page)."""
    return slugify(topic)[:300].strip("-")


def post_placements(post_ids: list[int]) -> dict[int, PostPlacement]:
    """The current placement of each post, in four queries whatever the number of posts."""
    if not post_ids:
        return {}
    links = {"stack": {}, "tools": {}, "entities": {}}
    queries = (
        (
            "stack",
            StackTag.objects.filter(content_object_id__in=post_ids).values_list("content_object_id", "tag__slug"),
        ),
        ("tools", ToolTag.objects.filter(content_object_id__in=post_ids).values_list("content_object_id", "tag__slug")),
        ("entities", PostEntity.objects.filter(post_id__in=post_ids).values_list("post_id", "entity__slug")),
    )
    for kind, rows in queries:
        for post_id, slug in rows:
            links[kind].setdefault(post_id, set()).add(slug)
    now = timezone.now()
    return {
        post_id: PostPlacement(
            slug=slug,
            published=is_visible(state, publish_at, unpublish_at, now),
            topic=topic_slug(topic),
            stack=frozenset(links["stack"].get(post_id, ())),
            tools=frozenset(links["tools"].get(post_id, ())),
            entities=frozenset(links["entities"].get(post_id, ())),
        )
        for post_id, slug, state, topic, publish_at, unpublish_at in Post.objects.filter(pk__in=post_ids).values_list(
            "pk", "slug", "state", "topic", "publish_at", "unpublish_at"
        )
    }


def schedule_purge(changes: list[PostChange], *, user=None) -> None:
    """Tell the caches once the transaction has committed, never before; `user` is the purge log's "who"."""
    if changes:
        transaction.on_commit(lambda: posts_changed.send(sender=Post, changes=changes, user=user))


# Site-only writes: the slug and the publication state belong to the site, not
# to the record, so they write no revision. They still bump lock_version (an
# editor's open form must notice them) and purge the post's pages.


def post_set_state(post_id: int, *, state: str, expected_lock_version: int | None = None, user=None) -> bool:
    """Publish, unpublish (draft) or archive a post; False when it already was in that state.

    Publishing for the first time sets published_at. Raises EditConflict when
    `expected_lock_version` is given and the post changed since.
    """
    if state not in Post.State.values:
        raise ValueError(f"state: expected one of {', '.join(Post.State.values)}, found {state!r}")

    def change(row: dict) -> dict:
        if row["state"] == state:
            return {}
        changes = {"state": state}
        if state == Post.State.PUBLISHED and row["published_at"] is None:
            changes["published_at"] = timezone.now()
        return changes

    return _site_update(post_id, change, expected_lock_version, user=user)


def post_change_slug(post_id: int, *, slug: str, expected_lock_version: int | None = None, user=None) -> bool:
    """Give a post a new URL; False when it already had this slug.

    The purge covers the old URL too: the PostChange carries both placements.
    Raises ValueError for a malformed slug or one another post uses.
    """
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValueError(f"slug: expected letters, digits, - or _, found {slug!r}") from None
    if Post.objects.filter(slug=slug).exclude(pk=post_id).exists():
        raise ValueError(f"slug: expected a slug no other post uses, found {slug!r}")
    return _site_update(
        post_id, lambda row: {} if row["slug"] == slug else {"slug": slug}, expected_lock_version, user=user
    )


def _site_update(post_id: int, change, expected_lock_version: int | None, *, user=None) -> bool:
    with transaction.atomic():
        bulk.lock_writes()
        row = (
            Post.objects.select_for_update()
            .filter(pk=post_id)
            .values("slug", "state", "published_at", "lock_version")
            .first()
        )
        if row is None:
            raise Post.DoesNotExist(f"post {post_id} does not exist (deleted since the page was loaded?)")
        if expected_lock_version is not None and row["lock_version"] != expected_lock_version:
            raise EditConflict(post_id, expected_lock_version, row["lock_version"])
        changes = change(row)
        if not changes:
            return False
        before = post_placements([post_id])
        Post.objects.filter(pk=post_id).update(**changes, lock_version=F("lock_version") + 1, updated_at=timezone.now())
        schedule_purge([PostChange(post_id, before[post_id], post_placements([post_id])[post_id])], user=user)
    return True


def posts_delete(post_ids: list[int], *, user=None) -> int:
    """Delete posts with their revisions and related rows, and purge the pages that showed them."""
    with transaction.atomic():
        bulk.lock_writes()
        before = post_placements(list(post_ids))
        Post.objects.filter(pk__in=before).delete()
        schedule_purge([PostChange(post_id, placement, None) for post_id, placement in before.items()], user=user)
    return len(before)


# Review bookkeeping: who reviewed a post, claims, settling a held import. An
# approval or a settled import changes what the post form shows (the review
# fields), so those bump lock_version like any write; a claim only says who is
# looking at the post and leaves open forms alone.


def posts_mark_approved(*, post_ids: list[int], reviewer) -> None:
    """Approve posts whose content already is as approved: their live revision and the post itself."""
    if not post_ids:
        return
    with transaction.atomic():
        live = Post.objects.filter(pk__in=post_ids).with_revision_ids().values_list("live_revision_id", flat=True)
        Revision.objects.filter(pk__in=[pk for pk in live if pk is not None]).update(approved=True)
        Post.objects.filter(pk__in=post_ids).update(
            reviewed_by=reviewer,
            changed_since_approval=False,
            flagged_at=Case(When(pending_import=True, then=F("flagged_at")), default=None),
            lock_version=F("lock_version") + 1,
        )


def post_settle_import(*, post_id: int) -> None:
    """The held import was applied or dismissed: the post leaves the queue unless another reason keeps it."""
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id)
        post.pending_import = False
        Post.objects.filter(pk=post_id).update(
            pending_import=False,
            flagged_at=post.flagged_at if in_review_queue(post) else None,
            lock_version=F("lock_version") + 1,
        )


def posts_claim(*, post_ids: list[int], reviewer, take_over: bool = False) -> list[int]:
    """Claim posts for `reviewer` and return the ids now claimed by them.

    Without `take_over`, a claim someone else holds (and that has not lapsed)
    is left alone, checked in the UPDATE itself so a claim taken since the
    caller's read is not overwritten.
    """
    claimable = Post.objects.filter(pk__in=post_ids)
    if not take_over:
        claimable = claimable.unclaimed() | claimable.filter(claimed_by=reviewer)
    claimable.update(claimed_by=reviewer, claimed_at=timezone.now())
    return list(Post.objects.filter(pk__in=post_ids, claimed_by=reviewer).values_list("pk", flat=True))


def posts_release_claims(*, post_ids: list[int], reviewer=None) -> list[int]:
    """Drop the claims on posts (only `reviewer`'s when given) and return the ids released."""
    claimed = Post.objects.filter(pk__in=post_ids, claimed_by__isnull=False)
    if reviewer is not None:
        claimed = claimed.filter(claimed_by=reviewer)
    released = list(claimed.values_list("pk", flat=True))
    Post.objects.filter(pk__in=released).update(claimed_by=None, claimed_at=None)
    return released


# Scheduled publishing (posts/scheduling.py decides when; these write). Setting
# a schedule is a publishing decision: the caller checks posts.review_post.


def post_set_schedule(post_id: int, *, publish_at, unpublish_at, expected_lock_version: int | None = None) -> bool:
    """Give a post its publish_at / unpublish_at (aware datetimes or None); False when unchanged.

    A publish_at makes the post published from that time on (readers see it
    from that second, querysets.published()), with that time as its
    publication date. The purge covers every page that shows the post now or
    will, so they are stored again with a lifetime capped at the event.
    Clearing a publish_at still to come cancels the publication (the post
    becomes a draft).
    Raises ValueError for a naive time or an unpublish_at not after publish_at.
    """
    for name, value in (("publish_at", publish_at), ("unpublish_at", unpublish_at)):
        if value is not None and timezone.is_naive(value):
            raise ValueError(f"{name}: expected a time with a time zone, found {value.isoformat()}")
    if publish_at is not None and unpublish_at is not None and unpublish_at <= publish_at:
        raise ValueError(
            f"unpublish_at: expected a time after publish_at ({publish_at.isoformat()}), "
            f"found {unpublish_at.isoformat()}"
        )
    with transaction.atomic():
        bulk.lock_writes()
        row = Post.objects.select_for_update().filter(pk=post_id).values("lock_version", "publish_at", "unpublish_at")
        row = row.first()
        if row is None:
            raise Post.DoesNotExist(f"post {post_id} does not exist (deleted since the page was loaded?)")
        if expected_lock_version is not None and row["lock_version"] != expected_lock_version:
            raise EditConflict(post_id, expected_lock_version, row["lock_version"])
        if (row["publish_at"], row["unpublish_at"]) == (publish_at, unpublish_at):
            return False
        changes = {"publish_at": publish_at, "unpublish_at": unpublish_at}
        if publish_at is not None:
            changes.update(state=Post.State.PUBLISHED, published_at=publish_at)
        elif row["publish_at"] is not None and row["publish_at"] > timezone.now():
            # Clearing a publication still to come cancels it; it does not publish the post now.
            changes["state"] = Post.State.DRAFT
        Post.objects.filter(pk=post_id).update(**changes, lock_version=F("lock_version") + 1, updated_at=timezone.now())
        schedule_purge([_joined(post_placements([post_id])[post_id], post_id)])
        transaction.on_commit(_forget_next_event)
    return True


def posts_apply_schedule(*, now=None) -> list[PostChange]:
    """Apply every publication and unpublication due at `now`: each once, with a revision and a purge.

    A due publish_at is cleared (the post already shows from that time); a due
    unpublish_at clears the schedule and makes the post a draft. Each post
    gets a revision (reason SCHEDULE, its content unchanged). Concurrent
    callers queue on the write lock and the second finds nothing due, so an
    event is applied exactly once. Returns the changes (empty: nothing due).
    """
    now = now or timezone.now()
    with transaction.atomic():
        bulk.lock_writes()
        due = list(
            Post.objects.select_for_update()
            .filter(Q(publish_at__lte=now) | Q(unpublish_at__lte=now))
            .order_by("pk")
            .values("pk", "publish_at", "unpublish_at")
        )
        if not due:
            return []
        revisions = []
        posts = {post.pk: post for post in Post.objects.filter(pk__in=[row["pk"] for row in due]).with_record_parts()}
        for row in due:
            updates, notes = {}, []
            if row["publish_at"] is not None and row["publish_at"] <= now:
                updates["publish_at"] = None
                notes.append(f"published at {row['publish_at'].isoformat()} as scheduled")
            if row["unpublish_at"] is not None and row["unpublish_at"] <= now:
                updates.update(unpublish_at=None, state=Post.State.DRAFT)
                notes.append(f"unpublished at {row['unpublish_at'].isoformat()} as scheduled")
            Post.objects.filter(pk=row["pk"]).update(**updates, lock_version=F("lock_version") + 1, updated_at=now)
            canonical = exporting.record_of(posts[row["pk"]])
            line = records.record_line(canonical)
            item = PreparedRecord(canonical=canonical, line=line, hash=hashlib.sha256(line).hexdigest(), html="")
            note = "; ".join(notes)
            revisions.append(
                _revision_row(item, row["pk"], Revision.Reason.SCHEDULE, None, note, now, applied=True, approved=False)
            )
        placements = post_placements([row["pk"] for row in due])
        changes = [_joined(placements[pk], pk, left=not placements[pk].published) for pk in placements]
        _number_revisions(revisions)
        bulk.insert(Revision, revisions)
        schedule_purge(changes)
        transaction.on_commit(_forget_next_event)
    return changes


def _joined(placement: PostPlacement, post_id: int, *, left: bool = False) -> PostChange:
    """The post as joining (or leaving) the site: the purge covers every listing it is in."""
    hidden, shown = replace(placement, published=False), replace(placement, published=True)
    return PostChange(post_id, shown if left else hidden, hidden if left else shown)


def _forget_next_event() -> None:
    from posts import scheduling  # scheduling imports services

    scheduling.clock.forget()


def posts_set_published_at(dates: dict[int, datetime.datetime]) -> int:
    """Give published posts new publication dates (post id -> aware datetime); returns how many changed.

    A site-only write like the state (no revision). A new date moves the post
    within every listing it is in, so the purge treats it as joining them.
    """
    with transaction.atomic():
        bulk.lock_writes()
        rows = Post.objects.select_for_update().filter(pk__in=dates, state=Post.State.PUBLISHED)
        changed = [post_id for post_id, current in rows.values_list("pk", "published_at") if current != dates[post_id]]
        for post_id in changed:
            Post.objects.filter(pk=post_id).update(published_at=dates[post_id], lock_version=F("lock_version") + 1)
        after = post_placements(changed)
        schedule_purge([PostChange(post_id, None, placement) for post_id, placement in after.items()])
    return len(changed)


def posts_render_fragments(*, model=Post, batch_size: int = 500) -> int:
    """Render every post's stored article fragments again from its stored record; returns the count.

    Writes only the derived columns (no revision, no purge: the content is
    unchanged). `model` lets migration 0009 pass its historical Post, so this
    reads the related rows through plain field lookups only.
    """
    related = {name: model._meta.get_field(name).related_model for name in ("stack_items", "tool_items")}
    links_model = model._meta.get_field("entity_links").related_model
    images_model = model._meta.get_field("image_sources").related_model
    done, last_id = 0, 0
    while True:
        posts = list(model.objects.filter(pk__gt=last_id).order_by("pk")[:batch_size])
        if not posts:
            return done
        ids = [post.pk for post in posts]
        parts = {post.pk: {"stack": [], "tools": [], "entities": [], "image_sources": []} for post in posts}
        tags, entities = {}, {}
        for kind, through in (("stack", related["stack_items"]), ("tools", related["tool_items"])):
            rows = through.objects.filter(content_object_id__in=ids).order_by("content_object_id", "position")
            for post_id, name, pk, slug in rows.values_list("content_object_id", "tag__name", "tag_id", "tag__slug"):
                parts[post_id][kind].append(name)
                tags[name] = (pk, slug)
        rows = links_model.objects.filter(post_id__in=ids).order_by("post_id", "position")
        for post_id, name, kind, pk, slug in rows.values_list(
            "post_id", "entity__name", "entity__type", "entity_id", "entity__slug"
        ):
            parts[post_id]["entities"].append({"name": name, "type": kind})
            entities[(name, kind)] = (pk, slug)
        rows = images_model.objects.filter(post_id__in=ids).order_by("post_id", "position")
        for post_id, source, url, caption in rows.values_list("post_id", "source", "url", "caption"):
            parts[post_id]["image_sources"].append({"source": source, "url": url, "caption": caption})
        for post in posts:
            canonical = records.record_from_post(post, **parts[post.pk])
            rendered = fragments.render_fragments(canonical, tags=tags, entities=entities, topic_slug=post.topic_slug)
            for name, value in rendered.items():
                setattr(post, name, value)
        model.objects.bulk_update(posts, ["meta_html", "tags_html", "page_facts"])
        done += len(posts)
        last_id = posts[-1].pk
