"""revisions: a revision for every kind of change, rollback (service and command), pruning."""

import datetime
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from posts import records, reviewing, revisions
from posts.models import Post, ReviewNote, Revision
from posts.services import EditConflict
from tests.factories import edit_post, make_post, make_record, make_user, write_records

pytestmark = pytest.mark.django_db


def content(post_id: int) -> tuple[str, dict]:
    """The post's record hash and canonical record, read back from the database."""
    post = Post.objects.get(pk=post_id)
    record = revisions.current_record(post_id)
    assert records.record_hash(record) == post.record_hash
    return post.record_hash, record


def test_every_kind_of_change_writes_a_revision():
    editor, reviewer = make_user("ed"), make_user("rita")
    post = make_post(1, flags={"needs_human_review": True})
    edit_post(post, author=editor, summary="the editor's summary")
    reviewing.posts_approve([post.pk], reviewer=reviewer)
    first = post.revisions.order_by("created_at", "id").first()
    revisions.post_rollback(post, first, author=editor)
    rows = list(post.revisions.order_by("created_at", "id").values_list("reason", "author__username", "approved"))
    assert rows == [
        (Revision.Reason.IMPORT, None, False),
        (Revision.Reason.EDIT, "ed", False),
        (Revision.Reason.REVIEW, "rita", True),
        (Revision.Reason.ROLLBACK, "ed", False),
    ]
    snapshot = json.loads(post.revisions.get(reason=Revision.Reason.EDIT).snapshot)
    assert snapshot["summary"] == "the editor's summary"
    assert snapshot["revision"]["version"] == "1.5.9"
    assert snapshot["stack"] and snapshot["entities"] and snapshot["image_sources"]


def test_rollback_then_roll_forward_gives_identical_content():
    post = make_post(1)
    original_hash, original = content(post.pk)
    edit_post(
        post,
        body=original["body"] + "\n## added by an editor\n\n```python\nprint('hi')\n```\n",
        stack=["django"],
        entities=[{"name": "django sites", "type": "stack"}],
        image_sources=[],
    )
    edited_hash, edited = content(post.pk)
    assert edited_hash != original_hash
    imported = post.revisions.get(reason=Revision.Reason.IMPORT)
    edited_revision = post.revisions.get(reason=Revision.Reason.EDIT)

    result = revisions.post_rollback(post, imported)
    assert result.updated == 1
    assert content(post.pk) == (original_hash, original)
    revisions.post_rollback(post, edited_revision)
    assert content(post.pk) == (edited_hash, edited)
    assert post.revisions.filter(reason=Revision.Reason.ROLLBACK).count() == 2
    assert post.revisions.count() == 4  # history only grows


def test_rollback_purges_the_posts_pages(purged):
    post = make_post(1)
    edit_post(post, stack=["a-new-tag"])
    with purged.capture():
        revisions.post_rollback(post, post.revisions.get(reason=Revision.Reason.IMPORT))
    (change,) = purged.for_post(post.pk)
    assert change.before.stack == frozenset({"a-new-tag"})
    assert "a-new-tag" not in change.after.stack


def test_rollback_to_the_current_content_writes_nothing():
    post = make_post(1)
    result = revisions.post_rollback(post, post.revisions.get())
    assert result.unchanged == 1
    assert post.revisions.count() == 1


def test_rollback_with_a_stale_lock_version_is_a_conflict():
    post = make_post(1)
    edit_post(post, summary="newer")
    with pytest.raises(EditConflict):
        revisions.post_rollback(
            post, post.revisions.get(reason=Revision.Reason.IMPORT), expected_lock_version=post.lock_version
        )


def held_import(post: Post) -> Revision:
    edit_post(post, summary="the editor's words")
    write_records(make_record(int(post.source_id.rsplit("-", 1)[1]), summary="the generator's new words"))
    return post.revisions.get(applied=False)


def test_a_held_import_cannot_be_rolled_back_to():
    post = make_post(1)
    with pytest.raises(ValueError, match="never applied"):
        revisions.post_rollback(post, held_import(post))


def test_find_revision_by_version_takes_the_newest_applied_or_an_exact_id():
    post = make_post(1)
    imported = post.revisions.get()
    edit_post(post, summary="edited")  # version 1.5.9
    revisions.post_rollback(post, imported)  # a second revision with version 1.5.8
    rollback = post.revisions.get(reason=Revision.Reason.ROLLBACK)
    assert revisions.find_revision(post, "1.5.8") == rollback
    assert revisions.find_revision(post, f"id:{imported.pk}") == imported
    with pytest.raises(revisions.RevisionNotFound, match=r"versions: 1\.5\.8, 1\.5\.9"):
        revisions.find_revision(post, "9.9")
    with pytest.raises(revisions.RevisionNotFound, match="no revision with id"):
        revisions.find_revision(post, "id:999999")


def test_rollback_command_by_source_id_and_by_slug(capsys):
    author = make_user("ops")
    post = make_post(1)
    original_hash, _ = content(post.pk)
    edit_post(post, title="an edited title")
    call_command("rollback_post", post.source_id, "--to", "1.5.8", "--author", "ops")
    assert "rolled back test-000001 to revision" in capsys.readouterr().out
    assert content(post.pk)[0] == original_hash
    rollback = post.revisions.get(reason=Revision.Reason.ROLLBACK)
    assert rollback.author == author
    edited = post.revisions.get(reason=Revision.Reason.EDIT)
    call_command("rollback_post", post.slug, "--to", f"id:{edited.pk}")
    assert Post.objects.get(pk=post.pk).title == "an edited title"
    call_command("rollback_post", post.slug, "--to", f"id:{edited.pk}")
    assert "nothing written" in capsys.readouterr().out


def test_rollback_command_reports_bad_input():
    post = make_post(1)
    with pytest.raises(CommandError, match="no post has the source_id or slug 'nope'"):
        call_command("rollback_post", "nope", "--to", "1")
    with pytest.raises(CommandError, match="no applied revision with version '7'"):
        call_command("rollback_post", post.source_id, "--to", "7")
    with pytest.raises(CommandError, match="--author"):
        call_command("rollback_post", post.source_id, "--to", "1.5.8", "--author", "nobody")


def age(revision: Revision, days: int) -> Revision:
    Revision.objects.filter(pk=revision.pk).update(created_at=timezone.now() - datetime.timedelta(days=days))
    return revision


def test_prune_keeps_the_newest_the_live_the_last_approved_and_a_waiting_import():
    reviewer = make_user("rita")
    post = make_post(1)
    other = make_post(2)
    imported = post.revisions.get()
    edit_post(post, summary="v2")
    reviewing.posts_approve([post.pk], reviewer=reviewer)
    approved = post.revisions.get(approved=True)
    edit_post(post, summary="v4")
    edit_post(post, summary="v5")
    live = revisions.live_revision(post.pk)
    pending = held_import(post)  # edits v6 first, then holds the import
    ordered = list(post.revisions.order_by("created_at", "id"))
    for days, revision in zip(range(100, 0, -10), ordered, strict=False):
        age(revision, days)
    age(other.revisions.get(), 100)
    live = revisions.live_revision(post.pk)
    assert revisions.revisions_prune(keep=1, older_than=datetime.timedelta(days=30), dry_run=True) == 4
    assert post.revisions.count() == len(ordered)

    assert revisions.revisions_prune(keep=1, older_than=datetime.timedelta(days=30)) == 4
    kept = set(post.revisions.values_list("pk", flat=True))
    assert kept == {approved.pk, live.pk, pending.pk}
    assert imported.pk not in kept
    assert other.revisions.count() == 1  # a post's only revision is its live one


def test_prune_respects_keep_and_age():
    post = make_post(1)
    for number in range(5):
        edit_post(post, summary=f"edit {number}")
    for days, revision in zip((50, 40, 30, 20, 10, 0), post.revisions.order_by("created_at", "id"), strict=True):
        age(revision, days)
    assert revisions.revisions_prune(keep=3, older_than=datetime.timedelta(days=35)) == 2
    assert post.revisions.count() == 4
    assert revisions.revisions_prune(keep=3, older_than=datetime.timedelta(days=1)) == 1
    assert post.revisions.count() == 3


def test_prune_keeps_review_notes_of_deleted_revisions():
    reviewer = make_user("rita")
    post = make_post(1, flags={"needs_human_review": True})
    reviewing.posts_approve([post.pk], reviewer=reviewer)
    note = ReviewNote.objects.get()
    assert note.revision_id is not None
    for number in range(3):
        edit_post(post, summary=f"edit {number}")
    Revision.objects.update(created_at=timezone.now() - datetime.timedelta(days=400))
    Revision.objects.filter(pk=revisions.live_revision(post.pk).pk).update(created_at=timezone.now())
    # The approved revision is protected; drop the approval to let it go.
    Revision.objects.update(approved=False)
    revisions.revisions_prune(keep=1, older_than=datetime.timedelta(days=30))
    note.refresh_from_db()
    assert note.revision_id is None
    assert note.decision == ReviewNote.Decision.APPROVED


def test_prune_command(capsys):
    post = make_post(1)
    edit_post(post, summary="newer")
    age(post.revisions.get(reason=Revision.Reason.IMPORT), 60)
    call_command("prune_revisions", "--keep", "1", "--older-than", "30", "--dry-run")
    assert capsys.readouterr().out.strip() == "would delete 1 revision(s)"
    call_command("prune_revisions", "--keep", "1", "--older-than", "30")
    assert capsys.readouterr().out.strip() == "deleted 1 revision(s)"
    with pytest.raises(CommandError, match="keep: expected at least 1"):
        call_command("prune_revisions", "--keep", "0", "--older-than", "30")
