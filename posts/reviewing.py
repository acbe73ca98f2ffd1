"""Review decisions on queued posts: approve, request changes, unpublish, claims, held imports.

Every decision that changes content goes through services.posts_write (reason
REVIEW), so it writes a revision and purges the post's pages like any other
write. Decisions are batch-shaped (the queue's bulk actions hand over many
posts; the review page a batch of one) and each leaves a ReviewNote.

Claims: a reviewer claims a post so that two reviewers don't work on the same
one. A decision on a post claimed by someone else is skipped, never applied,
until that reviewer releases it, another one takes it over explicitly, or the
claim lapses (settings.REVIEW_CLAIM_MINUTES, 30 by default).
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from posts import records, services
from posts.exporting import record_of
from posts.models import Post, ReviewNote, Revision
from posts.querysets import claim_is_active
from posts.revisions import pending_revision, revision_record


class PostClaimed(Exception):
    """Another reviewer has claimed the post; take it over explicitly to act on it."""

    def __init__(self, post: Post, claimed_by):
        self.post, self.claimed_by = post, claimed_by
        super().__init__(f"“{post}” is claimed by {claimed_by}; take it over first to act on it")


@dataclass
class ReviewOutcome:
    """What a decision did: the posts it applied to and, for the others, why not."""

    done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def _claimed_elsewhere(post: Post, reviewer) -> bool:
    return claim_is_active(post) and post.claimed_by_id != reviewer.pk


def _split_by_claim(posts, reviewer, outcome: ReviewOutcome) -> list[Post]:
    ready = []
    for post in posts:
        if _claimed_elsewhere(post, reviewer):
            outcome.skipped[post.pk] = f"claimed by {post.claimed_by}"
        else:
            ready.append(post)
    return ready


def _approved_record(record: dict, today: str) -> dict:
    revision = records.revision_of(record)
    record = {
        **record,
        "flags": {**record["flags"], "needs_human_review": False},
        "revision": {**revision, "last_reviewed": today},
    }
    return records.validate(record, keep_unknown=True)


def posts_approve(
    post_ids: list[int], *, reviewer, note: str = "", expected_lock_versions: dict[int, int] | None = None
) -> ReviewOutcome:
    """Approve the posts' current content.

    Clears needs_human_review, sets revision.last_reviewed to today and the
    post's reviewer, and writes an approved REVIEW revision; the post becomes
    indexable and leaves the queue (unless an import is still waiting), and its
    pages are purged. `expected_lock_versions` ({post id: lock_version}) makes
    sure the reviewer approves what they saw (EditConflict otherwise).
    """
    outcome = ReviewOutcome()
    posts = list(Post.objects.with_record_parts().select_related("claimed_by").filter(pk__in=post_ids))
    ready = _split_by_claim(posts, reviewer, outcome)
    if not ready:
        return outcome
    today = timezone.localdate().isoformat()
    prepared = [services.prepare_record(_approved_record(record_of(post), today)) for post in ready]
    expected = None
    if expected_lock_versions is not None:
        expected = {
            post.source_id: expected_lock_versions[post.pk] for post in ready if post.pk in expected_lock_versions
        }
    ids = [post.pk for post in ready]
    with transaction.atomic():
        result = services.posts_write(
            prepared,
            reason=Revision.Reason.REVIEW,
            author=reviewer,
            note=note,
            approve=True,
            expected_lock_versions=expected,
        )
        written = {change.post_id for change in result.changes}
        # Content already as approved (flag clear, reviewed today): nothing to write,
        # so the approval goes on the live revision and the post.
        services.posts_mark_approved(post_ids=[post_id for post_id in ids if post_id not in written], reviewer=reviewer)
        _release(ids)
        _note(ids, reviewer, ReviewNote.Decision.APPROVED, note)
    outcome.done = ids
    return outcome


def posts_request_changes(post_ids: list[int], *, reviewer, note: str) -> ReviewOutcome:
    """Ask the editors for changes; the posts stay in the queue with the note."""
    if not note.strip():
        raise ValueError("note: expected what should change (a request for changes needs a note), found nothing")
    outcome = ReviewOutcome()
    ready = _split_by_claim(Post.objects.select_related("claimed_by").filter(pk__in=post_ids), reviewer, outcome)
    ids = [post.pk for post in ready]
    with transaction.atomic():
        _release(ids)
        _note(ids, reviewer, ReviewNote.Decision.CHANGES_REQUESTED, note)
    outcome.done = ids
    return outcome


def posts_unpublish(post_ids: list[int], *, reviewer, note: str = "") -> ReviewOutcome:
    """Take the posts off the site (state draft); they stay in the queue until approved."""
    outcome = ReviewOutcome()
    ready = _split_by_claim(Post.objects.select_related("claimed_by").filter(pk__in=post_ids), reviewer, outcome)
    ids = [post.pk for post in ready]
    with transaction.atomic():
        for post_id in ids:
            services.post_set_state(post_id, state=Post.State.DRAFT, user=reviewer)
        _release(ids)
        _note(ids, reviewer, ReviewNote.Decision.UNPUBLISHED, note)
    outcome.done = ids
    return outcome


def posts_publish(post_ids: list[int], *, reviewer, note: str = "") -> ReviewOutcome:
    """Put the posts on the site (state published; the first time sets published_at)."""
    outcome = ReviewOutcome()
    ready = _split_by_claim(Post.objects.select_related("claimed_by").filter(pk__in=post_ids), reviewer, outcome)
    ids = [post.pk for post in ready]
    with transaction.atomic():
        for post_id in ids:
            services.post_set_state(post_id, state=Post.State.PUBLISHED)
        _note(ids, reviewer, ReviewNote.Decision.PUBLISHED, note)
    outcome.done = ids
    return outcome


def posts_claim(post_ids: list[int], *, reviewer, take_over: bool = False) -> ReviewOutcome:
    """Claim posts for `reviewer`; posts claimed by others are skipped unless `take_over`."""
    outcome = ReviewOutcome()
    posts = Post.objects.select_related("claimed_by").filter(pk__in=post_ids)
    ready = list(posts) if take_over else _split_by_claim(posts, reviewer, outcome)
    outcome.done = services.posts_claim(post_ids=[post.pk for post in ready], reviewer=reviewer, take_over=take_over)
    for post in ready:
        if post.pk not in outcome.done:
            outcome.skipped[post.pk] = "claimed by another reviewer a moment ago"
    return outcome


def posts_release_claim(post_ids: list[int], *, reviewer) -> ReviewOutcome:
    """Give up `reviewer`'s own claims; other reviewers' claims stay."""
    outcome = ReviewOutcome()
    outcome.done = services.posts_release_claims(post_ids=post_ids, reviewer=reviewer)
    for post_id in set(post_ids) - set(outcome.done):
        outcome.skipped[post_id] = "not claimed by you"
    return outcome


def post_apply_import(post: Post, *, reviewer, note: str = "") -> services.WriteResult:
    """Apply the import held for review: its record becomes the post's content (a REVIEW revision)."""
    pending = _pending_revision(post, reviewer)
    prepared = services.prepare_record(revision_record(pending))
    with transaction.atomic():
        result = services.posts_write(
            [prepared],
            reason=Revision.Reason.REVIEW,
            author=reviewer,
            note=note or f"applied the held import (revision {pending.pk})",
            clear_pending=True,
        )
        if result.unchanged:
            # The held import equals the current content: settling it is all there is to do.
            services.post_settle_import(post_id=post.pk)
        _note([post.pk], reviewer, ReviewNote.Decision.IMPORT_APPLIED, note)
    return result


def post_dismiss_import(post: Post, *, reviewer, note: str = "") -> None:
    """Keep the editor's content and settle the held import; it stays in the history, unapplied.

    The post's import_hash already is the dismissed import's, so importing the
    same generator output again changes nothing and does not queue the post.
    """
    pending = _pending_revision(post, reviewer)
    with transaction.atomic():
        services.post_settle_import(post_id=post.pk)
        ReviewNote.objects.create(
            post=post, decision=ReviewNote.Decision.IMPORT_DISMISSED, text=note, revision=pending, author=reviewer
        )


def _pending_revision(post: Post, reviewer) -> Revision:
    post = Post.objects.select_related("claimed_by").get(pk=post.pk)
    if _claimed_elsewhere(post, reviewer):
        raise PostClaimed(post, post.claimed_by)
    pending = pending_revision(post)
    if pending is None:
        raise ValueError(f"post {post.source_id} has no import waiting for review")
    return pending


def _release(post_ids: list[int]) -> None:
    services.posts_release_claims(post_ids=post_ids)


def _note(post_ids: list[int], reviewer, decision: str, text: str) -> None:
    live = dict(Post.objects.filter(pk__in=post_ids).with_revision_ids().values_list("pk", "live_revision_id"))
    ReviewNote.objects.bulk_create(
        ReviewNote(post_id=post_id, decision=decision, text=text, revision_id=live.get(post_id), author=reviewer)
        for post_id in post_ids
    )
