"""reviewing: approve, request changes, unpublish, claims and held imports."""

import json

import pytest
from django.utils import timezone

from posts import reviewing
from posts.models import Post, ReviewNote, Revision
from posts.services import EditConflict
from tests.factories import edit_post, make_post, make_record, make_user, write_records

pytestmark = pytest.mark.django_db

FLAGGED = {"needs_human_review": True, "ai_generated_style": True, "has_images": True, "image_heavy": False}


@pytest.fixture
def rita():
    return make_user("rita", "Reviewers")


@pytest.fixture
def sam():
    return make_user("sam", "Reviewers")


def test_approve_makes_a_flagged_post_indexable_and_purges_it(rita, purged):
    post = make_post(1, flags=FLAGGED)
    assert post not in Post.objects.indexable()
    assert post in Post.objects.flagged()
    with purged.capture():
        outcome = reviewing.posts_approve([post.pk], reviewer=rita, note="reads well")
    assert outcome.done == [post.pk]
    post.refresh_from_db()
    assert post.needs_human_review is False
    assert post.last_reviewed == timezone.localdate()
    assert post.reviewed_by == rita
    assert post.flagged_at is None
    assert post in Post.objects.indexable()
    assert post not in Post.objects.flagged()  # AI style, but approved now
    revision = post.revisions.first()
    assert (revision.reason, revision.approved, revision.author, revision.note) == (
        Revision.Reason.REVIEW,
        True,
        rita,
        "reads well",
    )
    snapshot = json.loads(revision.snapshot)
    assert snapshot["flags"]["needs_human_review"] is False
    assert snapshot["revision"]["last_reviewed"] == timezone.localdate().isoformat()
    assert snapshot["revision"]["version"] == "1.5.8"  # a review keeps the version
    (change,) = purged.for_post(post.pk)
    assert change.after.slug == post.slug
    note = ReviewNote.objects.get()
    assert (note.decision, note.author, note.revision) == (ReviewNote.Decision.APPROVED, rita, revision)


def test_bulk_approve_writes_one_batch(rita):
    posts = [make_post(number, flags=FLAGGED) for number in (1, 2, 3)]
    outcome = reviewing.posts_approve([post.pk for post in posts], reviewer=rita)
    assert sorted(outcome.done) == sorted(post.pk for post in posts)
    assert Revision.objects.filter(reason=Revision.Reason.REVIEW, approved=True).count() == 3
    assert not Post.objects.flagged().exists()


def test_approve_what_the_reviewer_saw_or_nothing(rita):
    post = make_post(1, flags=FLAGGED)
    seen = post.lock_version
    edit_post(post, body="changed while rita was reading\n")
    with pytest.raises(EditConflict):
        reviewing.posts_approve([post.pk], reviewer=rita, expected_lock_versions={post.pk: seen})
    assert Post.objects.get(pk=post.pk).needs_human_review is True


def test_approving_content_that_needs_no_change_still_records_the_approval(rita):
    today = timezone.localdate().isoformat()
    post = make_post(
        1,
        flags={**FLAGGED, "needs_human_review": False},
        revision={"status": "reviewed", "version": "2.0", "last_reviewed": today},
    )
    assert post in Post.objects.flagged()  # AI style, never approved
    reviewing.posts_approve([post.pk], reviewer=rita)
    post.refresh_from_db()
    assert post.reviewed_by == rita
    assert post not in Post.objects.flagged()
    assert post.revisions.get().approved is True


def test_request_changes_keeps_the_post_queued_with_the_note(rita):
    post = make_post(1, flags=FLAGGED)
    reviewing.posts_claim([post.pk], reviewer=rita)
    outcome = reviewing.posts_request_changes([post.pk], reviewer=rita, note="the code block needs a test")
    assert outcome.done == [post.pk]
    note = post.review_notes.get()
    assert (note.decision, note.text, note.author) == (
        ReviewNote.Decision.CHANGES_REQUESTED,
        "the code block needs a test",
        rita,
    )
    post.refresh_from_db()
    assert post in Post.objects.flagged()
    assert post.claimed_by is None  # back to the editors
    assert post.revisions.count() == 1  # no content change, no revision
    with pytest.raises(ValueError, match="needs a note"):
        reviewing.posts_request_changes([post.pk], reviewer=rita, note="  ")


def test_unpublish_takes_the_post_off_the_site(rita, purged):
    post = make_post(1, flags=FLAGGED)
    with purged.capture():
        reviewing.posts_unpublish([post.pk], reviewer=rita, note="factually wrong")
    post.refresh_from_db()
    assert post.state == Post.State.DRAFT
    assert post not in Post.objects.published()
    (change,) = purged.for_post(post.pk)
    assert (change.before.published, change.after.published) == (True, False)
    assert post.review_notes.get().decision == ReviewNote.Decision.UNPUBLISHED


def test_a_claimed_post_is_skipped_until_taken_over(rita, sam):
    post = make_post(1, flags=FLAGGED)
    assert reviewing.posts_claim([post.pk], reviewer=rita).done == [post.pk]
    assert reviewing.posts_claim([post.pk], reviewer=sam).skipped == {post.pk: "claimed by rita"}
    for decide in (reviewing.posts_approve, reviewing.posts_unpublish):
        outcome = decide([post.pk], reviewer=sam)
        assert outcome.done == []
        assert outcome.skipped == {post.pk: "claimed by rita"}
    assert reviewing.posts_release_claim([post.pk], reviewer=sam).skipped == {post.pk: "not claimed by you"}
    post.refresh_from_db()
    assert (post.needs_human_review, post.state, post.claimed_by) == (True, Post.State.PUBLISHED, rita)

    assert reviewing.posts_claim([post.pk], reviewer=sam, take_over=True).done == [post.pk]
    assert reviewing.posts_approve([post.pk], reviewer=sam).done == [post.pk]
    post.refresh_from_db()
    assert (post.reviewed_by, post.claimed_by) == (sam, None)


def hold_an_import(post: Post) -> None:
    edit_post(post, summary="the editor's words")
    assert write_records(make_record(1, flags={}, summary="the generator's new words")).held == 1


def test_apply_a_held_import(rita):
    post = make_post(1, flags={})
    hold_an_import(post)
    post.refresh_from_db()
    assert post in Post.objects.flagged()
    reviewing.post_apply_import(post, reviewer=rita)
    post.refresh_from_db()
    assert post.summary == "the generator's new words"
    assert post.pending_import is False
    assert post not in Post.objects.flagged()
    latest = post.revisions.first()
    assert (latest.reason, latest.applied, latest.author) == (Revision.Reason.REVIEW, True, rita)
    assert post.review_notes.get().decision == ReviewNote.Decision.IMPORT_APPLIED
    # The same generator output again changes nothing.
    assert write_records(make_record(1, flags={}, summary="the generator's new words")).unchanged == 1


def test_dismiss_a_held_import_keeps_the_editors_content(rita):
    post = make_post(1, flags={})
    hold_an_import(post)
    post.refresh_from_db()
    reviewing.post_dismiss_import(post, reviewer=rita, note="the editor's version is better")
    post.refresh_from_db()
    assert post.summary == "the editor's words"
    assert post.pending_import is False
    assert post not in Post.objects.flagged()
    held = post.revisions.get(applied=False)  # kept as history
    assert post.review_notes.get().revision == held
    assert write_records(make_record(1, flags={}, summary="the generator's new words")).unchanged == 1
    with pytest.raises(ValueError, match="no import waiting"):
        reviewing.post_dismiss_import(post, reviewer=rita)


def test_held_import_decisions_respect_claims(rita, sam):
    post = make_post(1)
    hold_an_import(post)
    reviewing.posts_claim([post.pk], reviewer=rita)
    with pytest.raises(reviewing.PostClaimed, match="claimed by rita"):
        reviewing.post_apply_import(post, reviewer=sam)
