"""The one write path: classification, slugs, tags, versions, the editor-change rule."""

import json

import pytest

from posts import records, services
from posts.models import Entity, Post, Revision
from posts.services import EditConflict
from tests.factories import make_record, write_records

pytestmark = pytest.mark.django_db


def edit(post: Post, **changes) -> services.WriteResult:
    """An admin edit: the stored record with changes, written with reason EDIT."""
    from posts.exporting import record_of

    record = record_of(Post.objects.with_record_parts().get(pk=post.pk))
    record.update(changes)
    return write_records(
        record, reason=Revision.Reason.EDIT, expected_lock_versions={post.source_id: post.lock_version}
    )


def test_batch_creates_posts_with_tags_entities_images_in_order():
    result = write_records(make_record(1, stack=["b", "a", "c"]), make_record(2))
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    post = Post.objects.get(source_id="test-000001")
    assert [item.tag.name for item in post.stack_items.order_by("position")] == ["b", "a", "c"]
    assert [link.entity.name for link in post.entity_links.order_by("position")] == [
        "python services",
        "backend",
        "building safer deployment steps",
    ]
    assert Entity.objects.count() == 3  # shared by both posts
    assert post.image_sources.get().position == 0


def test_slugs_are_unique_and_stable_across_reimports():
    write_records(make_record(1, title="Same Title"), make_record(2, title="Same Title"))
    slugs = sorted(Post.objects.values_list("slug", flat=True))
    assert slugs == ["same-title", "same-title-test-000002"]
    write_records(make_record(1, title="A New Title"))
    assert Post.objects.get(source_id="test-000001").slug == "same-title"


def test_editor_change_bumps_version_and_writes_a_revision():
    post = Post.objects.get(pk=write_records(make_record(1)).post_ids["test-000001"])
    result = edit(post, summary="edited by hand")
    assert result.updated == 1
    post.refresh_from_db()
    assert post.version == "1.5.9"
    assert post.summary == "edited by hand"
    revision = post.revisions.first()
    assert revision.reason == Revision.Reason.EDIT
    assert json.loads(revision.snapshot)["revision"]["version"] == "1.5.9"


def test_stale_edit_raises_conflict_and_writes_nothing():
    post = Post.objects.get(pk=write_records(make_record(1)).post_ids["test-000001"])
    edit(post, summary="first editor")
    with pytest.raises(EditConflict):
        edit(post, summary="second editor, stale form")  # `post` still has the old lock_version
    assert Post.objects.get(pk=post.pk).summary == "first editor"


def test_reimport_after_editor_change_is_held_for_review_not_applied():
    write_records(make_record(1))
    post = Post.objects.get()
    edit(post, summary="editor's words")
    unchanged = write_records(make_record(1))  # the same generator output again
    assert unchanged.unchanged == 1
    newer = write_records(make_record(1, summary="generator's new words"))
    assert newer.held == 1
    post.refresh_from_db()
    assert post.summary == "editor's words"
    assert post.pending_import is True
    pending = post.revisions.get(applied=False)
    assert json.loads(pending.snapshot)["summary"] == "generator's new words"
    again = write_records(make_record(1, summary="generator's new words"))
    assert again.unchanged == 1
    assert post.revisions.filter(applied=False).count() == 1


def test_reference_of_another_post_is_rejected_not_raised():
    write_records(make_record(1))
    result = write_records(make_record(2, reference="test-ref-000001"), make_record(3))
    assert result.created == 1
    ((item, error),) = result.rejected
    assert (item.source_id, error.field) == ("test-000002", "reference")


def test_review_queue_timestamps():
    write_records(make_record(1, flags={"needs_human_review": True}), make_record(2, flags={}))
    assert Post.objects.get(source_id="test-000001").flagged_at is not None
    assert Post.objects.get(source_id="test-000002").flagged_at is None
    assert list(Post.objects.flagged().values_list("source_id", flat=True)) == ["test-000001"]


def test_post_fields_cover_every_record_column():
    canonical = records.validate(make_record(1))
    assert tuple(records.post_fields(canonical)) == records.POST_COLUMNS


def test_bump_version():
    assert services.bump_version("1.5.8") == "1.5.9"
    assert services.bump_version("2") == "3"
    assert services.bump_version(None) == "1"
