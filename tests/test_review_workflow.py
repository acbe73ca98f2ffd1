"""Issue 10's rules on the write path: per-post revision numbers, unique versions, re-queue after approval."""

import json

import pytest

from posts import reviewing, revisions
from posts.models import Post, Revision
from tests.factories import edit_post, make_post, make_user

pytestmark = pytest.mark.django_db

NOT_FLAGGED = {"needs_human_review": False, "ai_generated_style": False}


@pytest.fixture
def rita():
    return make_user("rita", "Reviewers")


def test_revision_numbers_count_per_post():
    first, second = make_post(1), make_post(2)
    edit_post(first, summary="One.")
    edit_post(first, summary="Two.")
    edit_post(second, summary="Three.")
    assert list(first.revisions.order_by("created_at", "id").values_list("number", flat=True)) == [1, 2, 3]
    assert list(second.revisions.order_by("created_at", "id").values_list("number", flat=True)) == [1, 2]


def test_a_rollback_then_an_edit_never_gives_one_version_two_contents():
    post = make_post(1)
    original = post.revisions.get()
    edit_post(post, summary="Edited once.")  # 1.5.8 -> 1.5.9
    revisions.post_rollback(post, original)  # back to 1.5.8's content
    edit_post(post, summary="Edited after the rollback.")  # 1.5.9 is taken: 1.5.10
    contents = {}
    for revision in Revision.objects.filter(post=post):
        contents.setdefault(revision.version, set()).add(json.loads(revision.snapshot)["summary"])
    assert all(len(summaries) == 1 for summaries in contents.values()), contents
    assert Post.objects.get(pk=post.pk).version == "1.5.10"


@pytest.mark.parametrize(
    "change",
    [{"title": "A new title"}, {"summary": "A new summary."}, {"body": "New body."}, {"code_language": "go"}],
)
def test_a_reader_visible_change_to_an_approved_post_puts_it_back_in_the_queue(rita, change):
    post = make_post(1, flags=NOT_FLAGGED)
    reviewing.posts_approve([post.pk], reviewer=rita)
    assert post not in Post.objects.flagged()
    edit_post(post, **change)
    post.refresh_from_db()
    assert post.changed_since_approval is True
    assert post in Post.objects.flagged()
    assert post.state == Post.State.PUBLISHED  # the live page keeps serving the change
    reviewing.posts_approve([post.pk], reviewer=rita)
    post.refresh_from_db()
    assert (post.changed_since_approval, post in Post.objects.flagged()) == (False, False)


def test_a_changed_figure_re_queues_too(rita):
    post = make_post(1, flags=NOT_FLAGGED)
    reviewing.posts_approve([post.pk], reviewer=rita)
    images = [{"source": "example.org", "url": "https://example.org/new.png", "caption": "new"}]
    edit_post(post, image_sources=images)
    assert Post.objects.get(pk=post.pk).changed_since_approval is True


def test_metadata_changes_and_unapproved_posts_do_not_re_queue(rita):
    post = make_post(1, flags=NOT_FLAGGED)
    edit_post(post, summary="Never approved: no reason to say it changed since.")
    assert Post.objects.get(pk=post.pk).changed_since_approval is False
    reviewing.posts_approve([post.pk], reviewer=rita)
    edit_post(post, stack=["django", "postgresql"], notes=["a note"], view_count=12)
    post.refresh_from_db()
    assert post.changed_since_approval is False
    assert post not in Post.objects.flagged()
