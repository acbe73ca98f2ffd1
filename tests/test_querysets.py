"""Reads: similar posts, listings by tag, entity and topic."""

import pytest
from taggit.models import Tag

from posts.models import Entity, Post
from tests.factories import make_draft, make_post, make_posts

pytestmark = pytest.mark.django_db


def _with_parts(post: Post) -> Post:
    return Post.objects.with_record_parts().get(pk=post.pk)


def _similar(post: Post, **kwargs) -> list[tuple[str, int]]:
    return [(other.title, other.score) for other in Post.objects.similar_to(_with_parts(post), **kwargs)]


def test_similar_posts_rank_by_shared_tags_and_entities_then_newest():
    post = make_post(1, stack=["rust", "systems"], tools=["cargo"], entities=[{"name": "tokio", "type": "library"}])
    one_tag = make_post(2, stack=["rust"], tools=[], entities=[])
    three = make_post(3, stack=["rust", "systems"], tools=["cargo"], entities=[])
    one_entity = make_post(4, stack=[], tools=[], entities=[{"name": "tokio", "type": "library"}])
    make_post(5, stack=["go"], tools=["pprof"], entities=[{"name": "tokio", "type": "crate"}])
    assert _similar(post) == [(three.title, 3), (one_entity.title, 1), (one_tag.title, 1)]


def test_a_tag_in_stack_and_tools_counts_once():
    post = make_post(1, stack=["bash"], tools=["bash"], entities=[])
    other = make_post(2, stack=["bash"], tools=["bash"], entities=[])
    assert _similar(post) == [(other.title, 1)]


def test_similar_posts_leave_out_the_post_itself_and_unpublished_posts():
    post = make_post(1, stack=["rust"], tools=[], entities=[])
    make_draft(2, stack=["rust"], tools=[], entities=[])
    archived = make_post(3, stack=["rust"], tools=[], entities=[])
    Post.objects.filter(pk=archived.pk).update(state=Post.State.ARCHIVED)
    assert _similar(post) == []


def test_at_most_five_similar_posts_newest_first_among_equals():
    posts = make_posts(8, stack=["rust"], tools=[], entities=[])
    similar = _similar(posts[0])
    assert [title for title, score in similar] == [post.title for post in reversed(posts[3:])]


def test_a_post_without_tags_or_entities_has_no_similar_posts_and_runs_no_query(django_assert_num_queries):
    post = _with_parts(make_post(1, stack=[], tools=[], entities=[]))
    make_post(2, stack=[], tools=[], entities=[])
    with django_assert_num_queries(0):
        assert Post.objects.similar_to(post) == []


def test_candidates_are_the_newest_per_tag_only():
    post = make_post(1, stack=["rust"], tools=[], entities=[])
    make_posts(3, start=2, stack=["rust"], tools=[], entities=[])
    newest = Post.objects.order_by("-id").first()
    # With one candidate per tag, only the newest post carrying it can be similar.
    assert _similar(post, per_key=1) == [(newest.title, 1)]


def test_tag_entity_and_topic_listings_hold_published_posts_newest_first():
    first = make_post(1, stack=["rust"], tools=["cargo"], entities=[{"name": "tokio", "type": "library"}])
    second = make_post(2, stack=["rust"], tools=["cargo"], entities=[{"name": "tokio", "type": "library"}])
    make_draft(3, stack=["rust"], tools=["cargo"], entities=[{"name": "tokio", "type": "library"}])
    rust, cargo = Tag.objects.get(name="rust"), Tag.objects.get(name="cargo")
    tokio = Entity.objects.get(name="tokio")
    assert list(Post.objects.in_stack(rust)) == [second, first]
    assert list(Post.objects.in_tools(cargo)) == [second, first]
    assert list(Post.objects.naming(tokio)) == [second, first]
    assert list(Post.objects.in_topic(first.topic_slug)) == [second, first]
    assert list(Post.objects.in_stack(cargo)) == []
