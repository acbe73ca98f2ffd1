"""The post admin: change list, record form (validation, save, conflicts), preview, history, rollback."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from posts import records
from posts.models import Post, Revision
from tests.factories import changeform_data, edit_post, make_post, make_record, make_user

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor():
    return client_for(make_user("ed", "Editors"))


@pytest.fixture
def reviewer():
    return client_for(make_user("rita", "Reviewers"))


def change_url(post) -> str:
    return reverse("admin:posts_post_change", args=[post.pk])


def save(client, post, **changes):
    """GET the change form, then POST it back with `changes`."""
    form = client.get(change_url(post))
    assert form.status_code == 200
    return client.post(change_url(post), changeform_data(form, **changes))


def form_errors(response) -> dict:
    return {
        name: [str(message) for message in messages]
        for name, messages in response.context["adminform"].form.errors.items()
    }


# -- roles ------------------------------------------------------------------


def test_the_data_migration_creates_the_groups_with_their_permissions():
    import importlib

    from django.apps import apps

    Group.objects.all().delete()  # also when a transactional test flushed them before
    importlib.import_module("posts.migrations.0006_editorial_groups").create_groups(apps, None)
    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    reviewers = set(Group.objects.get(name="Reviewers").permissions.values_list("codename", flat=True))
    assert editors == {"add_post", "change_post", "view_post"}
    assert reviewers == {"view_post", "review_post"}


# -- change list --------------------------------------------------------------


def test_change_list_filters_and_search(admin_client):
    make_post(1, stack=["django"], code_language="go", difficulty="beginner")
    make_post(2, flags={}, title="Tuning indexes on PostgreSQL")
    url = reverse("admin:posts_post_changelist")
    cases = {
        "": 2,
        "?state__exact=published": 2,
        "?flag=needs_review": 1,
        "?flag=image_heavy": 0,
        "?reviewed=no": 2,
        "?difficulty__exact=beginner": 1,
        "?stack=django": 1,
        "?tool=pytest": 2,
        "?language=go": 1,
        "?q=test-000002": 1,
        "?q=test-ref-000001": 1,
        "?q=test-0000": 2,
        "?q=tuning+postgresql": 1,
        "?q=nothing-like-this": 0,
    }
    for query, expected in cases.items():
        response = admin_client.get(url + query)
        assert response.status_code == 200, query
        assert response.context["cl"].result_count == expected, query
    page = admin_client.get(url).content.decode()
    assert "needs review, AI style" in page
    assert "go</a>" in page  # the code language filter lists what is in use


def test_a_nul_character_in_any_filter_or_search_is_an_invalid_lookup_not_a_500(admin_client):
    make_post(1, stack=["django"], code_language="go")
    url = reverse("admin:posts_post_changelist")
    for name in ("state__exact", "difficulty__exact", "stack", "tool", "language", "flag", "reviewed", "q"):
        for value in ("%00", "go%00", "%00%00x"):
            response = admin_client.get(f"{url}?{name}={value}")
            # The admin's answer to parameters it cannot use: back to the list with ?e=1.
            assert response.status_code == 302, (name, value)
            assert response["Location"].endswith("?e=1"), (name, value)
    queue = reverse("admin:posts_reviewqueue_changelist")
    for name in ("reason", "claim", "q"):
        response = admin_client.get(f"{queue}?{name}=%00")
        assert response.status_code == 302, name


def test_purge_cache_action_purges_the_selected_posts(editor, client):
    from alphanode.pagecache.models import PurgeLog

    posts = [make_post(1), make_post(2)]
    for post in posts:
        assert client.get(post.get_absolute_url())["X-Cache"] == "MISS"
        assert client.get(post.get_absolute_url())["X-Cache"] == "HIT"
    url = reverse("admin:posts_post_changelist")
    response = editor.post(url, {"action": "purge_cache", "_selected_action": [post.pk for post in posts]}, follow=True)
    assert response.status_code == 200
    assert "Purged 2 cached page(s) showing 2 post(s)." in response.content.decode()
    for post in posts:
        assert client.get(post.get_absolute_url())["X-Cache"] == "MISS"
    log = PurgeLog.objects.latest("pk")
    assert (log.reason, log.user.username, log.succeeded) == ("admin action", "ed", True)


def test_change_list_query_count_does_not_grow_with_posts(admin_client):
    url = reverse("admin:posts_post_changelist") + "?stack=python"
    make_post(1)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for number in range(2, 12):
        make_post(number)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 11
    assert len(many) == len(few)
    assert not any('COUNT(*) FROM "posts_post"' in query["sql"] and "LIMIT" not in query["sql"] for query in many)


# -- the form -----------------------------------------------------------------


def test_change_form_shows_the_record_in_fieldsets_with_inlines(admin_client):
    post = make_post(1)
    page = admin_client.get(change_url(post)).content.decode()
    for text in (
        'class="editorial-markdown"',
        "Image sources (the first is the article&#x27;s figure)",
        "Entities",
        "Show live preview",
        "Preview in a new tab",
        "Revisions and rollback",
        "View on site",
        "python services, backend, python",  # the stack, in record order
        "context: for a content heavy programming website",  # the ai outline as key: value lines
        "Generator",
        "Bookkeeping",
    ):
        assert text in page, text


def test_saving_writes_an_edit_revision_through_the_write_path(editor, purged):
    post = make_post(1, flags={})
    with purged.capture():
        response = save(editor, post, summary="A sharper summary.", tools="ruff, pytest", body="# new\r\n\r\nbody\r\n")
    assert response.status_code == 302, form_errors(response)
    post.refresh_from_db()
    assert (post.summary, post.body, post.version) == ("A sharper summary.", "# new\n\nbody\n", "1.5.9")
    assert [item.tag.name for item in post.tool_items.all()] == ["ruff", "pytest"]
    revision = post.revisions.first()
    assert (revision.reason, revision.author.username, revision.version) == (Revision.Reason.EDIT, "ed", "1.5.9")
    assert revision.record_hash == post.record_hash
    assert purged.for_post(post.pk)


def test_saving_an_unchanged_form_writes_nothing(editor):
    post = make_post(1, flags={})
    response = save(editor, post)
    assert response.status_code == 302, form_errors(response)
    assert post.revisions.count() == 1
    assert Post.objects.get(pk=post.pk).lock_version == post.lock_version


def test_inline_rows_are_part_of_the_record(editor):
    post = make_post(1, flags={})
    response = save(
        editor,
        post,
        **{
            "image_sources-0-caption": "a better caption",
            "image_sources-1-source": "example.org",
            "image_sources-1-url": "https://example.org/diagram.png",
            "image_sources-1-caption": "the diagram",
            "entity_links-1-DELETE": "on",
        },
    )
    assert response.status_code == 302, form_errors(response)
    post.refresh_from_db()
    assert [(image.caption, image.position) for image in post.image_sources.all()] == [
        ("a better caption", 0),
        ("the diagram", 1),
    ]
    assert [link.entity.name for link in post.entity_links.all()] == [
        "python services",
        "building safer deployment steps",
    ]


def importer_message(**overrides) -> str:
    with pytest.raises(records.RecordError) as caught:
        records.validate(make_record(1, **overrides))
    error = caught.value
    return f"{error.field}: expected {error.expected}, found {error.found}"


def test_the_form_refuses_what_the_importer_refuses_in_the_same_words(editor):
    post = make_post(1)
    response = save(editor, post, score_quality="140")
    assert response.status_code == 200
    message = importer_message(score={"quality": 140})
    assert form_errors(response)["score_quality"] == [message]
    assert message == "score.quality: expected int <= 100, found 140"

    response = save(editor, post, code_language="klingon")
    assert form_errors(response)["code_language"] == [importer_message(code_language="klingon")]

    response = save(editor, post, title="   ")
    assert form_errors(response)["title"] == [importer_message(title="   ")]

    response = save(editor, post, ai_outline="Not Snake: value")
    assert "ai_outline (key): expected a snake_case key" in form_errors(response)["ai_outline"][0]
    assert Post.objects.get(pk=post.pk).revisions.count() == 1


def test_a_bad_image_url_is_reported_on_its_row(editor):
    post = make_post(1)
    response = save(editor, post, **{"image_sources-0-url": "javascript:alert(1)"})
    assert response.status_code == 200
    (formset,) = [
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "image_sources"
    ]
    assert formset.forms[0].errors["url"] == [
        "image_sources[0].url: expected an http:// or https:// URL, found 'javascript:alert(1)'"
    ]
    assert "Please correct the errors below." in response.content.decode()


def test_a_reference_of_another_post_is_refused(editor):
    post = make_post(1)
    make_post(2)
    response = save(editor, post, reference="test-ref-000002")
    assert form_errors(response)["reference"] == [
        "reference: expected a reference no other post uses, found 'test-ref-000002', "
        "already used by source_id 'test-000002'"
    ]


def test_add_a_post_through_the_write_path(editor):
    add_url = reverse("admin:posts_post_add")
    form = editor.get(add_url)
    data = changeform_data(
        form,
        title="Writing fast admin pages",
        topic="admin / django",
        summary="How the admin stays fast.",
        body="Short body.\n",
        reference="editorial-ref-1",
        source_id="editorial-0001",
        stack="django",
        **{
            "entity_links-0-name": "django sites",
            "entity_links-0-type": "stack",
        },
    )
    response = editor.post(add_url, data)
    assert response.status_code == 302, form_errors(response)
    post = Post.objects.get(source_id="editorial-0001")
    assert (post.slug, post.state, post.version) == ("writing-fast-admin-pages", Post.State.DRAFT, "1.0.0")
    revision = post.revisions.get()
    assert (revision.reason, revision.author.username) == (Revision.Reason.EDIT, "ed")
    assert [link.entity.name for link in post.entity_links.all()] == ["django sites"]

    again = editor.post(add_url, {**data, "reference": "editorial-ref-2"})
    assert form_errors(again)["source_id"] == [
        "payload.source_id: expected a source_id no other post uses, found 'editorial-0001'"
    ]


def test_stale_form_is_a_conflict_that_keeps_the_editors_input(editor):
    post = make_post(1, flags={})
    opened = editor.get(change_url(post))
    first = editor.post(change_url(post), changeform_data(opened, summary="First editor's summary."))
    assert first.status_code == 302
    second = editor.post(change_url(post), changeform_data(opened, summary="Second editor's summary."))
    assert second.status_code == 200
    page = second.content.decode()
    assert "Someone saved this post after you opened it" in page
    imported, edited = post.revisions.order_by("created_at", "id")
    assert f"revisions/?old={imported.pk}&amp;new={edited.pk}#diff" in page
    assert "Second editor&#x27;s summary." in page  # the input is still in the form
    assert Post.objects.get(pk=post.pk).summary == "First editor's summary."
    # Saving again after the warning keeps the second editor's version.
    third = editor.post(change_url(post), changeform_data(second))
    assert third.status_code == 302
    assert Post.objects.get(pk=post.pk).summary == "Second editor's summary."


def test_slug_and_state_use_their_own_services(purged):
    editor_and_reviewer = client_for(make_user("eve", "Editors", "Reviewers"))
    post = make_post(1, flags={})
    with purged.capture():
        response = save(editor_and_reviewer, post, slug="a-new-address", state=Post.State.ARCHIVED)
    assert response.status_code == 302, form_errors(response)
    post.refresh_from_db()
    assert (post.slug, post.state) == ("a-new-address", Post.State.ARCHIVED)
    assert post.revisions.count() == 1  # not content: no revision
    slugs = {(change.before.slug, change.after.slug) for change in purged.for_post(post.pk)}
    assert (
        "building-a-safer-workflow-for-building-safer-deployment-steps-with-python-services-part-1",
        "a-new-address",
    ) in slugs


def test_purges_caused_by_an_admin_edit_name_the_editor(editor, django_capture_on_commit_callbacks):
    """Editors change posts; only an administrator deletes them (Editors have no delete permission)."""
    from alphanode.pagecache.models import PurgeLog

    post = make_post(1, flags={})
    with django_capture_on_commit_callbacks(execute=True):
        response = save(editor, post, summary="A changed summary.", slug="moved-here")
    assert response.status_code == 302, form_errors(response)
    logs = PurgeLog.objects.order_by("pk")
    assert logs.count() == 2  # the content, the slug (the state is a reviewer's decision)
    assert {log.user.username if log.user else None for log in logs} == {"ed"}
    admin = client_for(make_user("ada", is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("admin:posts_post_delete", args=[post.pk]), {"post": "yes"})
    assert not Post.objects.filter(pk=post.pk).exists()
    assert PurgeLog.objects.latest("pk").user.username == "ada"


def test_editors_see_what_reviewers_asked_for(editor):
    from posts import reviewing

    post = make_post(1)
    reviewing.posts_request_changes([post.pk], reviewer=make_user("rita", "Reviewers"), note="add a <b>test</b>")
    page = editor.get(change_url(post)).content.decode()
    assert "rita · changes requested: add a &lt;b&gt;test&lt;/b&gt;" in page


def test_an_editor_cannot_clear_the_review_flag(editor):
    post = make_post(1)
    response = save(editor, post, needs_human_review=None, summary="edited")
    assert response.status_code == 302, form_errors(response)
    post.refresh_from_db()
    assert (post.summary, post.needs_human_review) == ("edited", True)


def test_delete_purges(admin_client, purged):
    post = make_post(1)
    with purged.capture():
        response = admin_client.post(reverse("admin:posts_post_delete", args=[post.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Post.objects.exists()
    assert purged.for_post(post.pk)[0].after is None


# -- preview --------------------------------------------------------------------


def test_preview_renders_the_unsaved_article(editor):
    post = make_post(1)
    form = editor.get(change_url(post))
    data = changeform_data(form, body="Intro paragraph.\n\n## A new section\n\n```python\nprint('hi')\n```\n")
    response = editor.post(reverse("admin:posts_post_preview", args=[post.pk]), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h2>A new section</h2>" in page
    assert '<pre class="highlight" data-language="python">' in page
    assert 'class="post-figure"' in page  # the first image source, as readers see it
    assert "posts/detail.html" in [template.name for template in response.templates]  # the reader's own page
    assert "alphanode post meta" in page
    assert "no-store" in response["Cache-Control"]
    assert Post.objects.get(pk=post.pk).body == post.body  # nothing saved

    broken = editor.post(reverse("admin:posts_post_preview", args=[post.pk]), {**data, "score_quality": "140"})
    assert "score.quality: expected int &lt;= 100, found 140" in broken.content.decode()
    assert editor.get(reverse("admin:posts_post_preview", args=[post.pk])).status_code == 405


def test_preview_needs_the_right_to_edit(reviewer, editor):
    post = make_post(1)
    data = changeform_data(editor.get(change_url(post)))
    assert reviewer.post(reverse("admin:posts_post_preview", args=[post.pk]), data).status_code == 403
    assert reviewer.post(reverse("admin:posts_post_add_preview"), data).status_code == 403


# -- history and rollback -----------------------------------------------------


def test_history_lists_revisions_and_shows_an_escaped_diff(editor):
    post = make_post(1, flags={})
    edit_post(post, body=post.body + "\n<script>alert(1)</script>\n", title="A <b>bold</b> title")
    response = editor.get(reverse("admin:posts_post_revisions", args=[post.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "A &lt;b&gt;bold&lt;/b&gt; title" in page
    assert "admin edit" in page and "import" in page
    assert "1.5.9" in page and "<strong>live</strong>" in page
    assert response.context["diff"].body_stats == (0, 2)


def test_history_compares_any_two_revisions(editor):
    post = make_post(1, flags={})
    edit_post(post, summary="second")
    edit_post(post, summary="third")
    first, _, third = post.revisions.order_by("created_at", "id")
    response = editor.get(reverse("admin:posts_post_revisions", args=[post.pk]), {"old": first.pk, "new": third.pk})
    fields = {change.name: (change.old, change.new) for change in response.context["diff"].fields}
    assert fields["summary"] == (post.summary, "third")
    assert fields["revision.version"] == ("1.5.8", "1.5.10")


def test_rollback_from_the_admin(editor, purged):
    post = make_post(1, flags={})
    original = Post.objects.get(pk=post.pk).record_hash
    edit_post(post, summary="edited")
    imported = post.revisions.get(reason=Revision.Reason.IMPORT)
    url = reverse("admin:posts_post_rollback", args=[post.pk, imported.pk])
    confirm = editor.get(url)
    assert confirm.status_code == 200
    assert "edited" in confirm.content.decode()
    with purged.capture():
        done = editor.post(url, {"lock_version": Post.objects.get(pk=post.pk).lock_version})
    assert done.status_code == 302
    post.refresh_from_db()
    assert post.record_hash == original
    assert post.revisions.first().reason == Revision.Reason.ROLLBACK
    assert purged.for_post(post.pk)
    stale = editor.post(url, {"lock_version": post.lock_version - 1})
    assert stale.status_code == 302
    assert post.revisions.count() == 3


def test_a_reviewer_sees_the_post_read_only(reviewer):
    post = make_post(1)
    response = reviewer.get(change_url(post))
    assert response.status_code == 200
    page = response.content.decode()
    assert "python services, backend, python" in page
    assert "Base revision" not in page
    assert 'name="title"' not in page  # nothing to edit
    assert reviewer.post(change_url(post), {"title": "x"}).status_code == 403


def test_rollback_needs_the_right_to_edit(reviewer):
    post = make_post(1)
    url = reverse("admin:posts_post_rollback", args=[post.pk, post.revisions.get().pk])
    assert reviewer.get(url).status_code == 403
    assert reviewer.post(url, {"lock_version": post.lock_version}).status_code == 403
    assert reviewer.get(reverse("admin:posts_post_revisions", args=[post.pk])).status_code == 200


def test_only_reviewers_change_a_posts_state_in_the_form(editor):
    post = make_post(1, flags={})
    form = editor.get(change_url(post))
    assert "state" not in form.context["adminform"].form.fields  # shown read-only
    response = editor.post(change_url(post), changeform_data(form, state=Post.State.DRAFT, summary="Edited."))
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.state, post.summary) == (Post.State.PUBLISHED, "Edited.")
    added = editor.post(
        reverse("admin:posts_post_add"),
        {**changeform_data(editor.get(reverse("admin:posts_post_add"))), "state": Post.State.PUBLISHED},
    )
    assert added.status_code in (200, 302)
    assert not Post.objects.exclude(pk=post.pk).filter(state=Post.State.PUBLISHED).exists()
    both = client_for(make_user("eve", "Editors", "Reviewers"))
    form = both.get(change_url(post))
    assert both.post(change_url(post), changeform_data(form, state=Post.State.DRAFT)).status_code == 302
    assert Post.objects.get(pk=post.pk).state == Post.State.DRAFT
