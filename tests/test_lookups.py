"""field__any_of finds what field__in finds, and on PostgreSQL sends the values as one array."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from posts.models import Post
from tests.factories import make_posts

pytestmark = pytest.mark.django_db


@pytest.fixture
def source_ids():
    return [post.source_id for post in make_posts(3)]


@pytest.mark.parametrize(
    "values",
    [
        lambda ids: ids,
        lambda ids: [*ids[:1], "no-such-post"],
        lambda ids: [],
        lambda ids: [None, ids[1]],
        lambda ids: [*ids, *ids],
        lambda ids: Post.objects.filter(source_id__in=ids[:2]).values("source_id"),
    ],
    ids=["all", "one and a missing one", "none", "with None", "repeated", "a subquery"],
)
def test_any_of_finds_what_in_finds(source_ids, values):
    expected = set(Post.objects.filter(source_id__in=values(source_ids)).values_list("pk", flat=True))
    assert set(Post.objects.filter(source_id__any_of=values(source_ids)).values_list("pk", flat=True)) == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array is PostgreSQL's (CI's second run)")
def test_on_postgresql_the_values_go_as_one_array_parameter(source_ids):
    with CaptureQueriesContext(connection) as queries:
        assert Post.objects.filter(slug__any_of=[*source_ids, "x", "y"]).count() == 0
    assert "= ANY('{" in queries[-1]["sql"] and " IN (" not in queries[-1]["sql"]
