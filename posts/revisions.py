"""A post's revision history: reading snapshots, finding revisions, rolling back, pruning.

A revision's snapshot is one record in the import format, so a rollback
re-applies it through the same path as an import (services.posts_write, with
reason ROLLBACK). That writes a *new* revision: history is never rewritten,
and rolling back then forward again gives back the same content (same
record_hash), because the snapshot is written exactly as stored.
"""

import datetime

from django.db import connection, transaction
from django.db.models import Max, Min
from django.db.models.expressions import RawSQL
from django.utils import timezone

from posts import records, services
from posts.exporting import record_of
from posts.models import Post, ReviewNote, Revision


class RevisionNotFound(LookupError):
    """No revision of the post matches what was asked for."""


def revision_record(revision: Revision) -> dict:
    """The canonical record stored in a revision (unknown fields kept by --keep-unknown stay)."""
    return records.validate(records.decode_record(revision.snapshot), keep_unknown=True)


def current_record(post_id: int) -> dict:
    """The canonical record of a stored post, as it is now."""
    return record_of(Post.objects.with_record_parts().get(pk=post_id))


def live_revision(post_id: int) -> Revision | None:
    """The revision whose content the post shows: the newest applied one."""
    return Revision.objects.filter(post_id=post_id, applied=True).first()


def pending_revision(post: Post) -> Revision | None:
    """The import held for review that waits for a decision, if any (the newest unapplied revision)."""
    return Revision.objects.filter(post=post, applied=False).first() if post.pending_import else None


def find_post(identifier: str) -> Post:
    """A post by source_id or, failing that, by slug (a source_id wins if both match different posts)."""
    post = Post.objects.filter(source_id=identifier).first() or Post.objects.filter(slug=identifier).first()
    if post is None:
        raise Post.DoesNotExist(f"no post has the source_id or slug {identifier!r}")
    return post


def find_revision(post: Post, spec: str) -> Revision:
    """A revision of `post` from `id:<revision id>` or a version such as 1.5.8.

    Several revisions can share a version (a rollback writes the version it
    restores; a held import may carry one too), so a version selects the
    newest *applied* revision with it. `id:<n>` selects one revision exactly.
    """
    spec = spec.strip()
    revisions = Revision.objects.filter(post=post)
    if spec.startswith("id:"):
        number = spec.removeprefix("id:")
        if not number.isdigit():
            raise RevisionNotFound(f"--to: expected id:<revision id> with digits, found {spec!r}")
        revision = revisions.filter(pk=int(number)).first()
        if revision is None:
            raise RevisionNotFound(f"post {post.source_id} has no revision with id {number}")
        return revision
    revision = revisions.filter(version=spec, applied=True).first()
    if revision is None:
        known = sorted(set(revisions.filter(applied=True).values_list("version", flat=True)[:50]))
        raise RevisionNotFound(
            f"post {post.source_id} has no applied revision with version {spec!r} "
            f"(versions: {', '.join(v or '(none)' for v in known) or 'none'}; or use id:<revision id>)"
        )
    return revision


def post_rollback(
    post: Post, revision: Revision, *, author=None, expected_lock_version: int | None = None
) -> services.WriteResult:
    """Make `revision`'s content the post's content again, as a new ROLLBACK revision.

    Only applied revisions can be rolled back to: a held import was never the
    post's content, and applying it is a reviewer's decision (review queue).
    `expected_lock_version` (the lock_version the user saw) guards against
    rolling back over a change made since; a mismatch raises EditConflict.
    The result's `unchanged` is 1 when the post already has that content.
    """
    if revision.post_id != post.pk:
        raise ValueError(f"revision {revision.pk} belongs to post {revision.post_id}, not to post {post.pk}")
    if not revision.applied:
        raise ValueError(
            f"revision {revision.pk} is an import held for review that was never applied; "
            "apply it from the review queue instead"
        )
    prepared = services.prepare_record(revision_record(revision))
    when = timezone.localtime(revision.created_at).strftime("%Y-%m-%d %H:%M")
    note = f"rollback to revision {revision.pk} (version {revision.version or 'none'}, {when})"
    expected = {post.source_id: expected_lock_version} if expected_lock_version is not None else None
    return services.posts_write(
        [prepared],
        reason=Revision.Reason.ROLLBACK,
        author=author,
        note=note,
        expected_lock_versions=expected,
    )


# Per post, a revision is kept when it is one of the `keep` newest, when it is
# the live one (newest applied), the last approved one, or an import still
# waiting for a reviewer (newest unapplied while the post has pending_import).
_PRUNABLE = """
    SELECT id FROM (
        SELECT r.id, r.created_at, r.applied, r.approved, p.pending_import,
            ROW_NUMBER() OVER (PARTITION BY r.post_id ORDER BY r.created_at DESC, r.id DESC) AS newest,
            ROW_NUMBER() OVER (PARTITION BY r.post_id, r.applied ORDER BY r.created_at DESC, r.id DESC)
                AS newest_of_applied,
            ROW_NUMBER() OVER (PARTITION BY r.post_id, r.approved ORDER BY r.created_at DESC, r.id DESC)
                AS newest_of_approved
        FROM {revision} r JOIN {post} p ON p.id = r.post_id
        WHERE r.post_id >= %s AND r.post_id < %s
    ) ranked
    WHERE newest > %s AND created_at < %s
        AND NOT (applied AND newest_of_applied = 1)
        AND NOT (approved AND newest_of_approved = 1)
        AND NOT (NOT applied AND newest_of_applied = 1 AND pending_import)
"""


def revisions_prune(
    *, keep: int, older_than: datetime.timedelta, dry_run: bool = False, posts_per_batch: int = 5000
) -> int:
    """Delete revisions older than `older_than` beyond each post's `keep` newest; returns how many.

    Never deletes a post's live revision, its last approved one, or an import
    still waiting for review. Works set-based, one DELETE per range of post
    ids, each range in its own transaction, so it never holds long locks.
    `dry_run` counts what would go and deletes nothing.
    """
    if keep < 1:
        raise ValueError(f"keep: expected at least 1 (the newest revision always stays), found {keep}")
    cutoff = timezone.now() - older_than
    bounds = Revision.objects.filter(created_at__lt=cutoff).aggregate(low=Min("post_id"), high=Max("post_id"))
    if bounds["low"] is None:
        return 0
    quote = connection.ops.quote_name
    prunable = _PRUNABLE.format(revision=quote(Revision._meta.db_table), post=quote(Post._meta.db_table))
    deleted = 0
    for low in range(bounds["low"], bounds["high"] + 1, posts_per_batch):
        params = [low, low + posts_per_batch, keep, cutoff]
        with transaction.atomic(), connection.cursor() as cursor:
            if dry_run:
                cursor.execute(f"SELECT COUNT(*) FROM ({prunable}) doomed", params)
                deleted += cursor.fetchone()[0]
                continue
            # Notes keep their text when the revision they point at goes (the FK is SET NULL).
            ReviewNote.objects.filter(revision_id__in=RawSQL(prunable, params)).update(revision=None)  # noqa: S611
            cursor.execute(f"DELETE FROM {quote(Revision._meta.db_table)} WHERE id IN ({prunable})", params)
            deleted += cursor.rowcount
    return deleted
