"""The review queue: the posts waiting for a human, most-read first, and the reviewers' decisions.

Editors may look at the queue (it tells them what reviewers asked for);
every decision needs the `posts.review_post` permission, checked here on the
server for each action and URL, not only by hiding buttons. The decisions
themselves are in posts/reviewing.py.
"""

import copy
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import Http404, HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince

from posts import reviewing, revisions
from posts.admin import article, diffing, forms
from posts.admin.lists import (
    LARGE_COLUMNS,
    CappedCountPaginator,
    CheckedChangeList,
    OrderedChangeList,
    StackFilter,
    capped_count,
    search_posts,
)
from posts.models import Post, ReviewNote, ReviewQueue, Revision
from posts.querysets import REVIEW_REASONS, claim_cutoff, claim_is_active, review_reason_q, review_reasons
from posts.reviewing import PostClaimed
from posts.services import EditConflict

REVIEW_PERMISSION = "posts.review_post"
# A bulk decision touches at most this many posts: approving writes a revision
# per post in one transaction, and "select all" on the queue means hundreds of thousands.
BULK_LIMIT = 500


def can_review(user) -> bool:
    return user.has_perm(REVIEW_PERMISSION)


# Why a post is in the queue: a short label for the list, a sentence for the review page.
REASONS = {
    "needs_review": ("needs review", "flagged for human review by the generator"),
    "ai_style": ("AI style", "AI-generated style, never approved"),
    "pending_import": ("newer import", "a newer import waits (the post was edited here)"),
    "changed": (
        "changed since approval",
        "readers see a title, summary, body, figure or code changed since it was approved",
    ),
}


# Where the review page shows what triggered a reason (the flags are in the article's meta box).
REASON_ANCHORS = {"pending_import": "held-import", "changed": "since-approval"}


def reason_codes(post: Post) -> list[str]:
    """The REASONS that put `post` in the queue (querysets.REVIEW_REASONS), in REASONS' order."""
    found = review_reasons(post)
    return [code for code in REASONS if code in found]


class ReasonFilter(admin.SimpleListFilter):
    title = "why it is here"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [
            ("needs_review", "flagged for human review"),
            ("ai_style", "AI-generated style, never approved"),
            ("pending_import", "a newer import waits"),
            ("changed", "changed since approval"),
        ]

    def queryset(self, request, queryset):
        if self.value() in REVIEW_REASONS:
            return queryset.filter(review_reason_q(self.value()))
        return queryset


class ClaimFilter(admin.SimpleListFilter):
    title = "claim"
    parameter_name = "claim"

    def lookups(self, request, model_admin):
        return [
            ("mine", "claimed by me"),
            ("free", "not claimed (or the claim lapsed)"),
            ("others", "claimed by others"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.claimed().filter(claimed_by=request.user)
        if self.value() == "free":
            return queryset.unclaimed()
        if self.value() == "others":
            return queryset.claimed().exclude(claimed_by=request.user)
        return queryset


@admin.register(ReviewQueue)
class ReviewQueueAdmin(admin.ModelAdmin):
    list_display = (
        "post_title",
        "why",
        "views",
        "scores",
        "waiting",
        "state",
        "claim_status",
        "last_note",
        "since_approval",
    )
    list_display_links = None
    list_filter = (ReasonFilter, StackFilter, "difficulty", ClaimFilter, "state")
    ordering = ("-view_count", "id")  # the partial index post_review_queue, as is
    sortable_by = ("views", "waiting")
    search_fields = ("title", "source_id", "reference")
    search_help_text = "A source id, reference or slug (or its beginning), or words of the title."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice reads the whole queue
    paginator = CappedCountPaginator
    list_per_page = 50
    actions = ["approve", "request_changes", "unpublish", "claim", "take_over", "release"]
    review_actions = {"approve", "request_changes", "unpublish", "claim", "take_over", "release"}

    class Media:
        css = {"all": ["posts/admin/editorial.css"]}

    # -- permissions: anyone who may see posts may see the queue; decisions need review_post

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("posts.view_post") or can_review(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _require_review(self, request) -> None:
        if not can_review(request.user):
            raise PermissionDenied

    # -- the list

    def get_changelist(self, request, **kwargs):
        # next_post_id needs only the list's order and filters, not a counted page of it.
        return OrderedChangeList if getattr(request, "queue_order_only", False) else CheckedChangeList

    def get_queryset(self, request):
        notes = ReviewNote.objects.filter(post=OuterRef("pk")).order_by("-created_at", "-id")
        return (
            ReviewQueue.objects.flagged()
            .defer(*LARGE_COLUMNS)
            .select_related("claimed_by")
            .with_revision_ids()
            .annotate(
                note_decision=Subquery(notes.values("decision")[:1]),
                note_text=Subquery(notes.values("text")[:1]),
                note_at=Subquery(notes.values("created_at")[:1]),
                # The claim column says "you"; list_display callables only get the post.
                claimed_by_me=Q(claimed_by=request.user.pk),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        return search_posts(queryset, search_term), False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not can_review(request.user):
            for name in self.review_actions:
                actions.pop(name, None)
        return actions

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and request.POST.get("action") in self.review_actions:
            self._require_review(request)
        extra_context = {"title": "Review queue: posts waiting for a reviewer", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.display(description="post")
    def post_title(self, post, filters: str = ""):
        url = review_url(post.pk, filters)
        return format_html('<a href="{}">{}</a><br><span class="quiet">{}</span>', url, post.title, post.source_id)

    def get_list_display(self, request):
        # The review page goes on to the next post in *this* list (its filters, search and order),
        # so each row's link carries them, the way Django's own preserved filters do.
        filters = request.GET.urlencode()

        @admin.display(description="post")
        def post_title(post):
            return self.post_title(post, filters)

        return (post_title, *self.list_display[1:])

    @admin.display(description="why it is here")
    def why(self, post):
        labels = [(code, REASONS[code][0], REASONS[code][1]) for code in reason_codes(post)]
        if post.note_decision == ReviewNote.Decision.CHANGES_REQUESTED:
            labels.append(("changes", "changes requested", "a reviewer asked the editors for changes"))
        return format_html_join(
            " ",
            '<span class="editorial-reason editorial-reason-{}" title="{}">{}</span>',
            ((code, sentence, label) for code, label, sentence in labels),
        )

    @admin.display(description="views", ordering="view_count")
    def views(self, post):
        return f"{post.view_count:,}" if post.view_count is not None else "—"

    @admin.display(description="scores (q · f · d · c)")
    def scores(self, post):
        values = (post.score_quality, post.score_freshness, post.score_depth, post.score_clarity)
        if all(value is None for value in values):
            return "—"
        return format_html(
            '<span class="editorial-nowrap">{}</span>',
            " · ".join("—" if value is None else str(value) for value in values),
        )

    @admin.display(description="waiting", ordering="flagged_at")
    def waiting(self, post):
        return timesince(post.flagged_at) if post.flagged_at else "—"

    @admin.display(description="claimed by")
    def claim_status(self, post):
        if post.claimed_by_id is None:
            return "—"
        who = "you" if post.claimed_by_me else str(post.claimed_by)
        if not claim_is_active(post):
            return f"{who}, lapsed ({timesince(post.claimed_at)} ago)" if post.claimed_at else f"{who}, lapsed"
        return f"{who}, {timesince(post.claimed_at)} ago"

    @admin.display(description="last decision")
    def last_note(self, post):
        if not post.note_decision:
            return "—"
        label = ReviewNote.Decision(post.note_decision).label
        text = Truncator(post.note_text or "").chars(80)
        return format_html("{}{}{}", label, ": " if text else "", text)

    @admin.display(description="since approval")
    def since_approval(self, post):
        if post.approved_revision_id is None:
            return "never approved"
        if post.approved_revision_id == post.live_revision_id:
            return "unchanged"
        url = reverse("admin:posts_post_revisions", args=[post.pk])
        return format_html(
            '<a href="{}?old={}&amp;new={}#diff">see the changes</a>',
            url,
            post.approved_revision_id,
            post.live_revision_id,
        )

    # -- bulk decisions (actions); each checks the permission itself too

    def _selected_ids(self, request, queryset) -> list[int] | None:
        if capped_count(queryset, BULK_LIMIT) > BULK_LIMIT:
            self.message_user(
                request,
                f"Select at most {BULK_LIMIT} posts for one decision (narrow the list with filters).",
                messages.ERROR,
            )
            return None
        return list(queryset.values_list("pk", flat=True))

    def _report(self, request, outcome: reviewing.ReviewOutcome, done: str) -> None:
        if outcome.done:
            self.message_user(request, f"{len(outcome.done)} post(s) {done}.", messages.SUCCESS)
        if outcome.skipped:
            titles = dict(Post.objects.filter(pk__in=outcome.skipped).values_list("pk", "title"))
            skipped = "; ".join(f"“{titles.get(pk, pk)}”: {why}" for pk, why in outcome.skipped.items())
            self.message_user(request, f"Skipped {len(outcome.skipped)} post(s): {skipped}.", messages.WARNING)

    @admin.action(description="Approve the selected posts (make them indexable)")
    def approve(self, request, queryset):
        self._require_review(request)
        ids = self._selected_ids(request, queryset)
        if ids is not None:
            self._report(request, reviewing.posts_approve(ids, reviewer=request.user), "approved")

    @admin.action(description="Request changes on the selected posts…")
    def request_changes(self, request, queryset):
        self._require_review(request)
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return None
        note = request.POST.get("note", "").strip()
        if request.POST.get("confirm") and note:
            self._report(request, reviewing.posts_request_changes(ids, reviewer=request.user, note=note), "sent back")
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Request changes",
            "posts": Post.objects.filter(pk__in=ids).only("pk", "title"),
            "missing_note": bool(request.POST.get("confirm")),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/posts/reviewqueue/request_changes.html", context)

    @admin.action(description="Unpublish the selected posts")
    def unpublish(self, request, queryset):
        self._require_review(request)
        ids = self._selected_ids(request, queryset)
        if ids is not None:
            self._report(request, reviewing.posts_unpublish(ids, reviewer=request.user), "unpublished")

    @admin.action(description="Claim the selected posts")
    def claim(self, request, queryset):
        self._require_review(request)
        ids = self._selected_ids(request, queryset)
        if ids is not None:
            self._report(request, reviewing.posts_claim(ids, reviewer=request.user), "claimed")

    @admin.action(description="Take over the selected posts (even when claimed by others)")
    def take_over(self, request, queryset):
        self._require_review(request)
        ids = self._selected_ids(request, queryset)
        if ids is not None:
            self._report(request, reviewing.posts_claim(ids, reviewer=request.user, take_over=True), "taken over")

    @admin.action(description="Release my claims on the selected posts")
    def release(self, request, queryset):
        self._require_review(request)
        ids = self._selected_ids(request, queryset)
        if ids is not None:
            self._report(request, reviewing.posts_release_claim(ids, reviewer=request.user), "released")

    # -- one post: the review page (the queue's "change" page)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/article/", view(self.article_view), name="posts_reviewqueue_article"),
            *super().get_urls(),
        ]

    def article_view(self, request, object_id):
        """The post's current content in the reader's template, framed by the review page."""
        post = Post.objects.filter(pk=_int_or_none(unquote(object_id))).first()
        if post is None:
            raise Http404(f"No post with id {object_id!r}.")
        if not self.has_view_permission(request, post):
            raise PermissionDenied
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])  # a page to read: decisions post to the review page
        return article.article_response(request, revisions.current_record(post.pk), post=post)

    def next_post_id(self, request, filters: str, *, after: int) -> int | None:
        """The first post of the queue as listed with `filters` that waits for this reviewer, other than `after`.

        Skipped: posts another reviewer's claim still holds, and posts sent back
        to the editors and not changed since (they wait for the editors).
        """
        listed = copy.copy(request)
        listed.GET = QueryDict(filters)
        listed.queue_order_only = True
        try:
            queue = self.get_changelist_instance(listed).queryset
        except IncorrectLookupParameters:
            queue = self.get_queryset(request)
        sent_back = ReviewNote.objects.filter(
            post=OuterRef("pk"), decision=ReviewNote.Decision.CHANGES_REQUESTED, created_at__gte=OuterRef("updated_at")
        )
        waiting = (
            queue.exclude(pk=after)
            .exclude(Q(claimed_by__isnull=False, claimed_at__gte=claim_cutoff()) & ~Q(claimed_by=request.user))
            .exclude(Exists(sent_back))
        )
        return waiting.values_list("pk", flat=True).first()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        post = (
            ReviewQueue.objects.select_related("claimed_by", "reviewed_by")
            .with_revision_ids()
            .filter(pk=_int_or_none(unquote(object_id)))
            .first()
        )
        if post is None:
            raise Http404(f"No post with id {object_id!r}.")
        if not self.has_view_permission(request, post):
            raise PermissionDenied
        if request.method == "POST":
            return self._decide(request, post)
        return TemplateResponse(request, "admin/posts/reviewqueue/review.html", self._review_context(request, post))

    def _review_context(self, request, post) -> dict:
        filters = request.GET.get("_changelist_filters", "")
        live = (
            revisions.revision_record(Revision.objects.get(pk=post.live_revision_id)) if post.live_revision_id else None
        )
        since_approval = None
        if post.approved_revision_id and post.approved_revision_id != post.live_revision_id and live:
            approved = revisions.revision_record(Revision.objects.get(pk=post.approved_revision_id))
            since_approval = diffing.record_diff(approved, live)
        pending = None
        if post.pending_import and post.pending_revision_id and live:
            pending = diffing.record_diff(
                live, revisions.revision_record(Revision.objects.get(pk=post.pending_revision_id))
            )
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Review “{post}”",
            "post": post,
            "reasons": [(REASONS[code][1], REASON_ANCHORS.get(code)) for code in reason_codes(post)],
            "changes_requested": post.review_notes.filter(decision=ReviewNote.Decision.CHANGES_REQUESTED).first(),
            "in_queue": Post.objects.flagged().filter(pk=post.pk).exists(),
            "can_review": can_review(request.user),
            "claimed_by_other": claim_is_active(post) and post.claimed_by_id != request.user.pk,
            "claim_active": claim_is_active(post),
            "claim_minutes": settings.REVIEW_CLAIM_MINUTES,
            "notes": post.review_notes.select_related("author")[:20],
            "since_approval": since_approval,
            "pending": pending,
            "queue_url": _queue_url(filters),
            "filters": filters,
            "article_url": reverse("admin:posts_reviewqueue_article", args=[post.pk]),
            "skip_url": _next_url(self.next_post_id(request, filters, after=post.pk), filters),
            "edit_url": reverse("admin:posts_post_change", args=[post.pk]),
            "history_url": reverse("admin:posts_post_revisions", args=[post.pk]),
            "now": timezone.now(),
        }

    def _decide(self, request, post):
        self._require_review(request)
        decision = request.POST.get("decision", "")
        note = request.POST.get("note", "").strip()
        reviewer = request.user
        filters = request.POST.get("_changelist_filters", "")
        here = review_url(post.pk, filters)
        queue = _queue_url(filters)
        and_next = decision.endswith("_next")
        decision = decision.removesuffix("_next")
        lock_version = forms.posted_lock_version(request.POST)
        try:
            if decision == "approve":
                expected = {post.pk: lock_version} if lock_version is not None else None
                outcome = reviewing.posts_approve(
                    [post.pk], reviewer=reviewer, note=note, expected_lock_versions=expected
                )
                done, after = "Approved: the post is indexable and its pages were purged.", queue
            elif decision == "request_changes":
                outcome = reviewing.posts_request_changes([post.pk], reviewer=reviewer, note=note)
                done, after = "Changes requested; the post stays in the queue with your note.", queue
            elif decision == "publish":
                outcome = reviewing.posts_publish([post.pk], reviewer=reviewer, note=note)
                done, after = "Published: the post is on the site.", here
            elif decision == "unpublish":
                outcome = reviewing.posts_unpublish([post.pk], reviewer=reviewer, note=note)
                done, after = "Unpublished: the post is off the site (draft).", queue
            elif decision in ("claim", "take_over"):
                outcome = reviewing.posts_claim([post.pk], reviewer=reviewer, take_over=decision == "take_over")
                done, after = "The post is yours to review; other reviewers see your claim.", here
            elif decision == "release":
                outcome = reviewing.posts_release_claim([post.pk], reviewer=reviewer)
                done, after = "Claim released.", here
            elif decision == "apply_import":
                reviewing.post_apply_import(post, reviewer=reviewer, note=note)
                outcome = reviewing.ReviewOutcome(done=[post.pk])
                done, after = "The held import is now the post's content (a new revision).", here
            elif decision == "dismiss_import":
                reviewing.post_dismiss_import(post, reviewer=reviewer, note=note)
                outcome = reviewing.ReviewOutcome(done=[post.pk])
                done, after = "The held import was dismissed; the editor's content stays.", here
            else:
                return HttpResponseBadRequest(
                    f"decision: expected approve, request_changes, unpublish, claim, take_over, release, "
                    f"apply_import or dismiss_import, found {decision!r}",
                    content_type="text/plain; charset=utf-8",  # never HTML: it echoes the input
                )
        except EditConflict:
            self.message_user(
                request,
                "The post changed while you were reviewing it. Look at it again before deciding.",
                messages.ERROR,
            )
            return HttpResponseRedirect(here)
        except (PostClaimed, ValueError) as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(here)
        if outcome.skipped:
            self.message_user(request, f"Not done: {outcome.skipped[post.pk]}. Take it over first.", messages.ERROR)
            return HttpResponseRedirect(here)
        self.message_user(request, done, messages.SUCCESS)
        if and_next and decision in ("approve", "request_changes"):
            return HttpResponseRedirect(_next_url(self.next_post_id(request, filters, after=post.pk), filters))
        return HttpResponseRedirect(after)


def review_url(post_id: int, filters: str = "") -> str:
    """A post's review page, carrying the queue's filters (Django's `_changelist_filters` convention)."""
    url = reverse("admin:posts_reviewqueue_change", args=[post_id])
    return f"{url}?{urlencode({'_changelist_filters': filters})}" if filters else url


def _queue_url(filters: str) -> str:
    url = reverse("admin:posts_reviewqueue_changelist")
    return f"{url}?{filters}" if filters else url


def _next_url(post_id: int | None, filters: str) -> str:
    """The next post's review page, or the queue (with its filters) when nothing else waits."""
    return review_url(post_id, filters) if post_id is not None else _queue_url(filters)


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None
