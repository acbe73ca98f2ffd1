"""Similar Posts on the article: a cached ranking, posts read live (posts/similar.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from posts import services, similar
from posts.models import Post
from tests.factories import edit_post, make_post, make_posts

pytestmark = pytest.mark.django_db


def titles(post: Post) -> list[str]:
    return [other.title for other in similar.similar_posts(Post.objects.get(pk=post.pk))]


def ranking_queries(post: Post) -> int:
    with CaptureQueriesContext(connection) as queries:
        similar.similar_posts(Post.objects.get(pk=post.pk))
    return sum("UNION" in query["sql"] for query in queries.captured_queries)


def test_the_same_posts_as_the_live_ranking_best_first():
    post, *_ = make_posts(8, stack=["rust"], tools=[], entities=[])
    live = [other.title for other in Post.objects.similar_to(Post.objects.with_record_parts().get(pk=post.pk))]
    assert titles(post) == live
    assert len(live) == similar.SHOWN


def test_the_ranking_is_computed_once_then_read_from_the_cache():
    post, _ = make_posts(2, stack=["rust"], tools=[], entities=[])
    assert ranking_queries(post) == 1
    assert ranking_queries(post) == 0


def test_a_post_unpublished_since_drops_out_at_once_and_the_next_one_moves_up():
    post, *_ = make_posts(8, stack=["rust"], tools=[], entities=[])
    before = titles(post)
    gone = Post.objects.get(title=before[0])
    services.post_set_state(gone.pk, state=Post.State.DRAFT)
    after = titles(post)
    assert gone.title not in after
    assert after[:4] == before[1:] and len(after) == similar.SHOWN


def test_titles_are_read_live():
    post, other = make_posts(2, stack=["rust"], tools=[], entities=[])
    assert titles(post) == [other.title]
    edit_post(other, title="A new title for the other post")
    assert titles(post) == ["A new title for the other post"]


def test_a_write_to_the_post_ranks_it_anew():
    post = make_post(1, stack=["rust"], tools=[], entities=[])
    make_post(2, stack=["go"], tools=[], entities=[])
    assert titles(post) == []
    edit_post(post, stack=["go"])
    assert [title.endswith("part 2") for title in titles(post)] == [True]


def test_a_new_post_joins_when_the_ranking_expires(settings):
    post = make_post(1, stack=["rust"], tools=[], entities=[])
    assert titles(post) == []
    newcomer = make_post(2, stack=["rust"], tools=[], entities=[])
    assert titles(post) == []  # the cached ranking, until it expires
    settings.SIMILAR_POSTS_SECONDS = 0  # Django's cache keeps nothing with timeout 0
    similar.KEY_PREFIX += "-expired"
    assert titles(post) == [newcomer.title]
