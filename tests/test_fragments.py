"""Stored article fragments: rendered by the write path, the same as the command renders them."""

import pytest
from django.core.management import call_command
from taggit.models import Tag

from posts import fragments, metabox
from posts.models import Post
from tests.factories import edit_post, make_post

pytestmark = pytest.mark.django_db


def _stored(post: Post) -> tuple:
    post = Post.objects.get(pk=post.pk)
    return post.meta_html, post.tags_html, post.page_facts


def test_meta_box_escapes_and_nests_lists_like_the_template_did():
    rows = [
        metabox.MetaRow(key="topic", text="A <b> & c", url="/topics/a/"),
        metabox.MetaRow(key="reading time", text="7"),
        metabox.MetaRow(
            key="entities",
            items=[metabox.MetaItem(children=[metabox.MetaItem(text="name: <x>"), metabox.MetaItem(text="type: t")])],
        ),
    ]
    assert fragments.meta_box_html(rows) == (
        '<section class="post-meta" aria-labelledby="post-meta-title">\n'
        '<h2 id="post-meta-title">alphanode post meta</h2>\n'
        '<dl class="post-meta__list">\n'
        '<div class="post-meta__row"><dt>topic</dt><dd><a href="/topics/a/">A &lt;b&gt; &amp; c</a></dd></div>\n'
        '<div class="post-meta__row"><dt>reading time</dt><dd>7</dd></div>\n'
        '<div class="post-meta__row post-meta__row--list"><dt>entities</dt><dd><ul><li>'
        "<ul><li>name: &lt;x&gt;</li><li>type: t</li></ul>\n</li></ul>\n</dd></div>\n"
        "</dl>\n</section>"
    )


def test_write_path_stores_fragments_and_facts_of_the_record():
    post = make_post(1, stack=["python", "django"], tools=["pytest"], entities=[{"name": "PEP 8", "type": "standard"}])
    meta_html, tags_html, facts = _stored(post)
    assert '<a href="/stack/python/">python</a>' in meta_html
    tool_link = '<a class="tag tag--tool" href="/tools/pytest/"><span class="visually-hidden">Tool: </span>pytest</a>'
    assert tool_link in tags_html
    assert "(standard)</span>" in tags_html
    tag_ids = sorted(Tag.objects.filter(name__in=["python", "django", "pytest"]).values_list("pk", flat=True))
    assert facts["keywords"] == ["python", "django", "pytest"]
    assert facts["tag_ids"] == tag_ids
    assert len(facts["entity_ids"]) == 1
    assert facts["image"]["url"] == post.image_sources.first().url


def test_an_edit_renders_the_fragments_again():
    post = make_post(1, stack=["python"])
    edit_post(post, stack=["rust"], summary="Changed.")
    meta_html, tags_html, facts = _stored(post)
    assert "/stack/rust/" in meta_html and "/stack/python/" not in tags_html
    assert facts["keywords"][0] == "rust"


def test_render_fragments_command_gives_what_the_write_path_stored_and_follows_a_renamed_tag():
    posts = [make_post(number, stack=["python"], tools=["pytest"]) for number in (1, 2)]
    written = [_stored(post) for post in posts]
    Post.objects.update(meta_html="", tags_html="", page_facts={})

    call_command("render_fragments", "--batch-size", "1")

    assert [_stored(post) for post in posts] == written
    Tag.objects.filter(name="python").update(slug="python-lang")
    call_command("render_fragments")
    assert all('href="/stack/python-lang/"' in _stored(post)[1] for post in posts)


def test_similar_posts_from_stored_ids_match_similar_posts_from_the_related_rows():
    post = make_post(1, stack=["python", "django"], tools=["pytest"])
    for number in range(2, 6):
        make_post(number, stack=["python"], tools=["pytest" if number % 2 else "tox"])
    stored = Post.objects.with_record_parts().get(pk=post.pk)
    facts = stored.page_facts
    from_rows = [other.pk for other in Post.objects.similar_to(stored)]
    from_facts = [other.pk for other in Post.objects.similar_to_keys(post.pk, facts["tag_ids"], facts["entity_ids"])]
    assert from_rows == from_facts and len(from_rows) == 4


def test_markup_rendered_ahead_in_the_workers_is_kept_only_when_its_slugs_are_the_real_ones():
    # A tag whose slug is not the one a new tag of that name would get.
    Tag.objects.create(name="python", slug="python-lang")
    post = make_post(1, stack=["python", "backend"])
    meta_html, tags_html, _ = _stored(post)
    assert 'href="/stack/python-lang/"' in meta_html and 'href="/stack/python-lang/"' in tags_html
    assert 'href="/stack/python/"' not in meta_html + tags_html
    # The same as rendering from the stored rows (the command's way).
    call_command("render_fragments", verbosity=0)
    assert _stored(post)[:2] == (meta_html, tags_html)


def test_prepare_record_renders_the_markup_with_the_slugs_new_tags_get():
    from posts import records, services
    from tests.factories import make_record

    prepared = services.prepare_record(records.validate(make_record(1)))
    post = make_post(1)
    assert (Post.objects.get(pk=post.pk).meta_html, Post.objects.get(pk=post.pk).tags_html) == (
        prepared.markup["meta_html"],
        prepared.markup["tags_html"],
    )
