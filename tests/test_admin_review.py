"""The review queue in the admin: rows, ordering, decisions, claims, permissions on every URL."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posts import reviewing
from posts.models import Post, ReviewNote, Revision
from tests.factories import changeform_data, edit_post, make_post, make_record, make_user, write_records

pytestmark = pytest.mark.django_db

QUEUE = "/admin/posts/reviewqueue/"
FLAGGED = {"needs_human_review": True, "ai_generated_style": True, "has_images": True, "image_heavy": False}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rita():
    return make_user("rita", "Reviewers")


@pytest.fixture
def reviewer(rita):
    return client_for(rita)


@pytest.fixture
def editor():
    return client_for(make_user("ed", "Editors"))


def review_url(post) -> str:
    return reverse("admin:posts_reviewqueue_change", args=[post.pk])


def test_an_editor_gets_403_on_every_decision_by_url_and_by_action(editor):
    post = make_post(1, flags=FLAGGED)
    assert editor.get(QUEUE).status_code == 200  # editors may look
    assert editor.get(review_url(post)).status_code == 200
    for decision in ("approve", "request_changes", "unpublish", "claim", "take_over", "apply_import"):
        response = editor.post(review_url(post), {"decision": decision, "note": "x", "lock_version": post.lock_version})
        assert response.status_code == 403, decision
    for action in ("approve", "request_changes", "unpublish", "claim"):
        response = editor.post(
            QUEUE, {"action": action, ACTION_CHECKBOX_NAME: [post.pk], "note": "x", "confirm": "yes"}
        )
        assert response.status_code == 403, action
    post.refresh_from_db()
    assert (post.needs_human_review, post.state, post.claimed_by) == (True, Post.State.PUBLISHED, None)
    assert not ReviewNote.objects.exists()
    page = editor.get(QUEUE).content.decode()
    assert "Approve the selected posts" not in page  # and the buttons are hidden too


def test_a_reviewer_approves_from_the_review_page(reviewer, rita, purged):
    post = make_post(1, flags=FLAGGED)
    page = reviewer.get(review_url(post)).content.decode()
    assert "flagged for human review by the generator" in page
    assert "Never approved before" in page
    with purged.capture():
        response = reviewer.post(
            review_url(post), {"decision": "approve", "note": "", "lock_version": post.lock_version}
        )
    assert response.status_code == 302
    assert response["Location"] == QUEUE
    post.refresh_from_db()
    assert post.needs_human_review is False
    assert post in Post.objects.indexable()
    assert post not in Post.objects.flagged()
    revision = post.revisions.first()
    assert (revision.reason, revision.approved, revision.author) == (Revision.Reason.REVIEW, True, rita)
    (change,) = purged.for_post(post.pk)
    assert change.after.published


def test_approving_a_post_that_changed_meanwhile_is_refused(reviewer):
    post = make_post(1, flags=FLAGGED)
    seen = post.lock_version
    edit_post(post, summary="changed under the reviewer")
    response = reviewer.post(review_url(post), {"decision": "approve", "lock_version": seen})
    assert response.status_code == 302
    assert response["Location"] == review_url(post)
    assert Post.objects.get(pk=post.pk).needs_human_review is True


def test_bulk_approve_and_unpublish(reviewer):
    first, second, third = (make_post(number, flags=FLAGGED) for number in (1, 2, 3))
    response = reviewer.post(QUEUE, {"action": "approve", ACTION_CHECKBOX_NAME: [first.pk, second.pk]})
    assert response.status_code == 302
    assert set(Post.objects.indexable().values_list("pk", flat=True)) == {first.pk, second.pk}
    reviewer.post(QUEUE, {"action": "unpublish", ACTION_CHECKBOX_NAME: [third.pk]})
    assert Post.objects.get(pk=third.pk).state == Post.State.DRAFT
    messages = [str(message) for message in reviewer.get(QUEUE).context["messages"]]
    assert messages == ["2 post(s) approved.", "1 post(s) unpublished."]


def test_bulk_request_changes_asks_for_a_note_first(reviewer):
    post = make_post(1, flags=FLAGGED)
    form = reviewer.post(QUEUE, {"action": "request_changes", ACTION_CHECKBOX_NAME: [post.pk]})
    assert form.status_code == 200
    assert "What should change" in form.content.decode()
    assert not ReviewNote.objects.exists()
    missing = reviewer.post(QUEUE, {"action": "request_changes", ACTION_CHECKBOX_NAME: [post.pk], "confirm": "yes"})
    assert "needs a note" in missing.content.decode()
    done = reviewer.post(
        QUEUE,
        {"action": "request_changes", ACTION_CHECKBOX_NAME: [post.pk], "confirm": "yes", "note": "add a test"},
    )
    assert done.status_code == 302
    note = ReviewNote.objects.get()
    assert (note.decision, note.text) == (ReviewNote.Decision.CHANGES_REQUESTED, "add a test")
    row = reviewer.get(QUEUE).content.decode()
    assert "changes requested: add a test" in row
    assert post in Post.objects.flagged()


def test_queue_rows_say_why_and_put_the_most_read_first(reviewer):
    quiet = make_post(1, flags=FLAGGED, view_count=10)
    popular = make_post(2, flags={**FLAGGED, "needs_human_review": False}, view_count=900_000)
    make_post(3, flags={})  # not waiting for anyone
    Post.objects.filter(pk=quiet.pk).update(flagged_at=timezone.now() - timezone.timedelta(days=3))
    response = reviewer.get(QUEUE)
    rows = list(response.context["cl"].result_list)
    assert rows == [Post.objects.get(pk=popular.pk), Post.objects.get(pk=quiet.pk)]
    page = response.content.decode()
    assert "900,000" in page
    assert "AI-generated style, never approved" in page
    assert "flagged for human review by the generator" in page
    assert "3\xa0days" in page  # waiting
    assert "92 · 49 · 66 · 70" in page
    longest_waiting = reviewer.get(QUEUE + "?o=5")
    assert [post.pk for post in longest_waiting.context["cl"].result_list] == [quiet.pk, popular.pk]


def test_queue_filters(reviewer):
    make_post(1, flags=FLAGGED, difficulty="advanced")
    make_post(2, flags={**FLAGGED, "needs_human_review": False}, stack=["go"])
    cases = {
        "?reason=needs_review": 1,
        "?reason=ai_style": 2,
        "?reason=pending_import": 0,
        "?difficulty__exact=advanced": 1,
        "?stack=go": 1,
        "?claim=free": 2,
        "?q=test-000002": 1,
    }
    for query, expected in cases.items():
        assert reviewer.get(QUEUE + query).context["cl"].result_count == expected, query


def test_a_post_reviewed_before_shows_the_diff_since_its_approval(reviewer, rita):
    post = make_post(1, flags=FLAGGED)
    reviewing.posts_approve([post.pk], reviewer=rita)
    edit_post(post, summary="changed after the approval")
    assert write_records(make_record(1, summary="the generator's take")).held == 1  # back in the queue
    row = reviewer.get(QUEUE).content.decode()
    approved = post.revisions.get(approved=True)
    live = post.revisions.filter(applied=True).first()
    assert f"?old={approved.pk}&amp;new={live.pk}#diff" in row
    page = reviewer.get(review_url(post))
    assert [change.name for change in page.context["since_approval"].fields] == ["summary", "revision.version"]
    assert "summary" in [change.name for change in page.context["pending"].fields]
    assert "a newer import waits" in page.content.decode()


def test_held_import_decisions_on_the_review_page(reviewer):
    post = make_post(1, flags={})
    edit_post(post, summary="the editor's words")
    write_records(make_record(1, flags={}, summary="the generator's words"))
    response = reviewer.post(review_url(post), {"decision": "apply_import", "note": ""})
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.summary, post.pending_import) == ("the generator's words", False)
    response = reviewer.post(review_url(post), {"decision": "dismiss_import", "note": ""})
    messages = [str(message) for message in reviewer.get(review_url(post)).context["messages"]]
    assert messages == [
        "The held import is now the post's content (a new revision).",
        f"post {post.source_id} has no import waiting for review",
    ]


def test_claims_keep_two_reviewers_apart(reviewer, rita):
    sam = client_for(make_user("sam", "Reviewers"))
    post = make_post(1, flags=FLAGGED)
    reviewer.post(review_url(post), {"decision": "claim"})
    assert Post.objects.get(pk=post.pk).claimed_by == rita
    assert "rita, 0\xa0minutes ago" in sam.get(QUEUE).content.decode()
    assert "you, 0\xa0minutes ago" in reviewer.get(QUEUE).content.decode()
    page = sam.get(review_url(post)).content.decode()
    assert "rita is reviewing this post" in page
    assert 'value="approve"' not in page
    refused = sam.post(review_url(post), {"decision": "approve", "lock_version": post.lock_version})
    assert refused["Location"] == review_url(post)
    assert Post.objects.get(pk=post.pk).needs_human_review is True
    sam.post(review_url(post), {"decision": "take_over"})
    sam.post(review_url(post), {"decision": "approve", "lock_version": Post.objects.get(pk=post.pk).lock_version})
    assert Post.objects.get(pk=post.pk).reviewed_by.username == "sam"
    assert reviewer.get(QUEUE + "?claim=mine").context["cl"].result_count == 0


def test_unknown_decision_is_a_bad_request(reviewer):
    post = make_post(1, flags=FLAGGED)
    response = reviewer.post(review_url(post), {"decision": "publish-everything"})
    assert response.status_code == 400
    assert b"decision: expected approve" in response.content
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_a_bad_decision_is_echoed_as_plain_text_never_as_html(reviewer):
    post = make_post(1, flags=FLAGGED)
    response = reviewer.post(review_url(post), {"decision": "<script>alert(1)</script>"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_admin_home_counts_the_waiting_posts(reviewer):
    make_post(1, flags=FLAGGED)
    make_post(2, flags=FLAGGED)
    make_post(3, flags={})
    page = reviewer.get(reverse("admin:index")).content.decode()
    assert "2 posts waiting for a reviewer" in page
    assert QUEUE in page


def test_queue_query_count_does_not_grow_with_posts(reviewer, rita):
    make_post(1, flags=FLAGGED)
    reviewer.get(QUEUE)
    with CaptureQueriesContext(connection) as few:
        reviewer.get(QUEUE)
    for number in range(2, 12):
        post = make_post(number, flags=FLAGGED)
        reviewing.posts_claim([post.pk], reviewer=rita)
        reviewing.posts_request_changes([post.pk], reviewer=rita, note="more detail")
    with CaptureQueriesContext(connection) as many:
        response = reviewer.get(QUEUE)
    assert response.context["cl"].result_count == 11
    assert len(many) == len(few)


def _approve_unchanged_content(post, rita):
    # The content already is as an approval leaves it: posts_mark_approved writes, not posts_write.
    assert reviewing.posts_approve([post.pk], reviewer=rita).done == [post.pk]


@pytest.mark.parametrize(
    ("flags", "revision", "decide"),
    [
        (FLAGGED, None, lambda post, rita: reviewing.posts_approve([post.pk], reviewer=rita)),
        ({"ai_generated_style": True}, "today", _approve_unchanged_content),
        (FLAGGED, None, lambda post, rita: reviewing.posts_unpublish([post.pk], reviewer=rita)),
    ],
    ids=["approve", "approve-unchanged-content", "unpublish"],
)
def test_an_editors_form_opened_before_a_review_decision_is_a_conflict_after_it(editor, rita, flags, revision, decide):
    overrides = {"flags": flags}
    if revision == "today":
        overrides["revision"] = {"status": "draft", "version": "1.0.0", "last_reviewed": str(timezone.localdate())}
    post = make_post(1, **overrides)
    url = reverse("admin:posts_post_change", args=[post.pk])
    opened = editor.get(url)
    lock_version = Post.objects.get(pk=post.pk).lock_version
    decide(post, rita)
    assert Post.objects.get(pk=post.pk).lock_version > lock_version
    response = editor.post(url, changeform_data(opened, summary="Written before the decision."))
    assert response.status_code == 200
    assert "Someone saved this post after you opened it" in response.content.decode()
    assert Post.objects.get(pk=post.pk).summary != "Written before the decision."


def test_a_claim_leaves_an_open_post_form_alone(editor, rita):
    post = make_post(1, flags=FLAGGED)
    url = reverse("admin:posts_post_change", args=[post.pk])
    opened = editor.get(url)
    reviewing.posts_claim([post.pk], reviewer=rita)
    response = editor.post(url, changeform_data(opened, summary="Saved while a reviewer looks."))
    assert response.status_code == 302
    assert Post.objects.get(pk=post.pk).summary == "Saved while a reviewer looks."


def test_the_review_page_frames_the_article_in_the_readers_template(reviewer):
    post = make_post(1, flags=FLAGGED)
    page = reviewer.get(review_url(post)).content.decode()
    article_url = reverse("admin:posts_reviewqueue_article", args=[post.pk])
    assert f'src="{article_url}"' in page
    assert 'data-shortcut="a"' in page and "posts/admin/review." in page
    article = reviewer.get(article_url)
    assert article.status_code == 200
    assert next(template.name for template in article.templates) == "posts/detail.html"
    html = article.content.decode()
    assert post.title in html and "alphanode post meta" in html and 'class="highlight"' in html
    assert "css/site." in html
    assert article["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in article["Content-Security-Policy"]
    assert "no-store" in article["Cache-Control"]


def test_approve_and_next_lands_on_the_next_unclaimed_post_in_the_lists_order(reviewer, rita):
    sam = make_user("sam", "Reviewers")
    first, claimed, sent_back, third = (
        make_post(number, flags=FLAGGED, view_count=views) for number, views in ((1, 400), (2, 300), (3, 200), (4, 100))
    )
    reviewing.posts_claim([claimed.pk], reviewer=sam)
    reviewing.posts_request_changes([sent_back.pk], reviewer=rita, note="Fix the intro.")
    filters = "o=-3"  # any list parameters: they come back in the next page's URL
    response = reviewer.post(
        review_url(first),
        {"decision": "approve_next", "lock_version": first.lock_version, "_changelist_filters": filters},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{review_url(third)}?_changelist_filters=o%3D-3"
    assert Post.objects.get(pk=first.pk).needs_human_review is False
    last = reviewer.post(review_url(third), {"decision": "request_changes_next", "note": "Shorter, please."})
    assert last["Location"] == QUEUE  # nothing else waits for this reviewer


def test_a_lapsed_claim_no_longer_holds_and_the_queue_says_how_old_it_is(reviewer, rita, settings):
    sam = make_user("sam", "Reviewers")
    post = make_post(1, flags=FLAGGED)
    reviewing.posts_claim([post.pk], reviewer=sam)
    assert reviewing.posts_approve([post.pk], reviewer=rita).skipped
    Post.objects.filter(pk=post.pk).update(claimed_at=timezone.now() - timezone.timedelta(minutes=31))
    page = reviewer.get(QUEUE).content.decode()
    assert "sam, lapsed (31" in page
    assert reviewing.posts_approve([post.pk], reviewer=rita).done == [post.pk]
    settings.REVIEW_CLAIM_MINUTES = 60
    other = make_post(2, flags=FLAGGED)
    reviewing.posts_claim([other.pk], reviewer=sam)
    Post.objects.filter(pk=other.pk).update(claimed_at=timezone.now() - timezone.timedelta(minutes=45))
    assert reviewing.posts_claim([other.pk], reviewer=rita).skipped  # still sam's for 15 minutes


def test_reviewers_publish_and_unpublish_from_the_review_page_editors_get_403(reviewer, editor):
    post = make_post(1, flags=FLAGGED)
    assert editor.post(review_url(post), {"decision": "publish"}).status_code == 403
    reviewer.post(review_url(post), {"decision": "unpublish"})
    assert Post.objects.get(pk=post.pk).state == Post.State.DRAFT
    reviewer.post(review_url(post), {"decision": "publish"})
    assert Post.objects.get(pk=post.pk).state == Post.State.PUBLISHED


def test_the_review_page_points_each_reason_at_what_triggered_it(reviewer, rita):
    post = make_post(1, flags={"needs_human_review": False, "ai_generated_style": False})
    reviewing.posts_approve([post.pk], reviewer=rita)
    edit_post(post, summary="Changed after the approval.")
    reviewing.posts_request_changes([post.pk], reviewer=rita, note="Say why it changed.")
    page = reviewer.get(review_url(post)).content.decode()
    assert 'changed since it was approved (<a href="#since-approval">what changed</a>)' in page
    assert 'id="since-approval"' in page
    assert "Say why it changed." in page
