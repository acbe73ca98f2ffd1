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


def test_approved_ai_style_post_leaves_the_queue():
    from django.contrib.auth.models import User

    reviewer = User.objects.create(username="rita")
    ai_only = {"ai_generated_style": True, "needs_human_review": False}
    write_records(make_record(1, flags=ai_only))
    post = Post.objects.get()
    assert list(Post.objects.flagged()) == [post]
    write_records(
        make_record(1, flags=ai_only, summary="approved words"),
        reason=Revision.Reason.REVIEW,
        author=reviewer,
        approve=True,
    )
    post.refresh_from_db()
    assert (post.reviewed_by, post.flagged_at) == (reviewer, None)
    assert not Post.objects.flagged().exists()
    # New generator output after the approval is held: the queue shows it as a waiting import.
    assert write_records(make_record(1, flags=ai_only, summary="the generator's new words")).held == 1
    assert list(Post.objects.flagged()) == [post]


def test_generator_content_replacing_approved_content_needs_a_new_approval():
    from django.contrib.auth.models import User

    ai_only = {"ai_generated_style": True, "needs_human_review": False}
    write_records(make_record(1, flags=ai_only))
    Post.objects.update(reviewed_by=User.objects.create(username="rita"), flagged_at=None)
    assert not Post.objects.flagged().exists()
    assert write_records(make_record(1, flags=ai_only, summary="the generator's new words")).updated == 1
    post = Post.objects.get()
    assert post.reviewed_by is None
    assert post.flagged_at is not None
    assert list(Post.objects.flagged()) == [post]


def test_set_state_purges_and_bumps_lock_version_without_a_revision(purged):
    post = Post.objects.get(pk=write_records(make_record(1)).post_ids["test-000001"])
    with purged.capture():
        assert services.post_set_state(post.pk, state=Post.State.DRAFT) is True
    changed = Post.objects.get(pk=post.pk)
    assert changed.state == Post.State.DRAFT
    assert changed.lock_version == post.lock_version + 1
    assert post.revisions.count() == 1
    (change,) = purged.for_post(post.pk)
    assert (change.before.published, change.after.published) == (True, False)
    assert services.post_set_state(post.pk, state=Post.State.DRAFT) is False


def test_publishing_a_draft_sets_published_at_once():
    write_records(make_record(1), new_state=Post.State.DRAFT)
    post = Post.objects.get()
    assert post.published_at is None
    services.post_set_state(post.pk, state=Post.State.PUBLISHED)
    first = Post.objects.get().published_at
    assert first is not None
    services.post_set_state(post.pk, state=Post.State.DRAFT)
    services.post_set_state(post.pk, state=Post.State.PUBLISHED)
    assert Post.objects.get().published_at == first


def test_slug_change_purges_old_and_new_url(purged):
    post = Post.objects.get(pk=write_records(make_record(1)).post_ids["test-000001"])
    with purged.capture():
        services.post_change_slug(post.pk, slug="a-better-address")
    (change,) = purged.for_post(post.pk)
    assert (change.before.slug, change.after.slug) == (post.slug, "a-better-address")
    assert post.revisions.count() == 1


def test_slug_change_refuses_taken_or_malformed_slugs():
    write_records(make_record(1), make_record(2))
    first, second = Post.objects.order_by("pk")
    with pytest.raises(ValueError, match="no other post uses"):
        services.post_change_slug(first.pk, slug=second.slug)
    with pytest.raises(ValueError, match="letters, digits"):
        services.post_change_slug(first.pk, slug="not a slug")


def test_site_change_with_stale_lock_version_raises_conflict():
    post = Post.objects.get(pk=write_records(make_record(1)).post_ids["test-000001"])
    services.post_set_state(post.pk, state=Post.State.ARCHIVED)
    with pytest.raises(EditConflict):
        services.post_change_slug(post.pk, slug="new-slug", expected_lock_version=post.lock_version)
    assert Post.objects.get(pk=post.pk).slug == post.slug


def test_delete_purges_the_pages_that_showed_the_post(purged):
    post = Post.objects.get(pk=write_records(make_record(1)).post_ids["test-000001"])
    with purged.capture():
        assert services.posts_delete([post.pk]) == 1
    assert not Post.objects.exists()
    (change,) = purged.for_post(post.pk)
    assert change.after is None
    assert change.before.slug == post.slug
