"""The post admin: a change list for a million posts, a record form, preview, history and rollback.

Content never goes through model.save(): saving the form builds the post's
record and hands it to services.posts_write (reason EDIT), the one write path
that writes the revision and purges the pages. The slug and the publication
state have their own small services. The review queue is in review.py.
"""

import weakref

from django.contrib import admin, messages
from django.contrib.admin.utils import construct_change_message, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join

from alphanode.ops.csp import HEADER, framed_by_own_pages_header
from posts import cache_tags, revisions, scheduling, services
from posts.admin import article, diffing, forms
from posts.admin.lists import (
    LARGE_COLUMNS,
    CappedCountPaginator,
    CheckedChangeList,
    CodeLanguageFilter,
    FlagFilter,
    ReviewedFilter,
    ScheduleFilter,
    StackFilter,
    ToolsFilter,
    search_posts,
)
from posts.models import ImageSource, Post, PostEntity, Revision
from posts.services import EditConflict

REVIEW_PERMISSION = "posts.review_post"

FLAG_LABELS = {
    "needs_human_review": "needs review",
    "ai_generated_style": "AI style",
    "pending_import": "import waiting",
    "image_heavy": "image heavy",
}


SCHEDULE_FIELDS = {"publish_at", "unpublish_at"}
SCHEDULE_HELP = (
    "Times are in the site's time zone. A post with “publish at” goes live at that second (and is "
    "published from then on; clearing it before then cancels the publication); “unpublish at” takes it "
    "down. Only reviewers set them. "
    "The admin home links to the upcoming ones."
)


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


class WriteRejected(Exception):
    """posts_write refused the record (a reference another post took since the form was checked)."""


class RecordPartInline(admin.TabularInline):
    """Rows of one record list. Permissions are the post's: the rows are part of its record."""

    extra = 1

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("posts.view_post") or request.user.has_perm("posts.change_post")

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("posts.change_post" if obj else "posts.add_post")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("posts.change_post" if obj else "posts.add_post")

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


class ImageSourceInline(RecordPartInline):
    model = ImageSource
    form = forms.ImageSourceForm
    formset = forms.ImageSourceFormSet
    fields = ("source", "url", "caption")
    # Edited as record fields (declared on the form), not as model fields: see forms.RecordPartForm.
    exclude = ("source", "url", "caption")
    verbose_name = "image source"
    verbose_name_plural = "image sources (the first is the article's figure)"


class EntityInline(RecordPartInline):
    model = PostEntity
    form = forms.EntityForm
    formset = forms.EntityFormSet
    fields = ("name", "type")
    verbose_name = "entity"
    verbose_name_plural = "entities"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("entity")


class PostChangeList(CheckedChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer(*LARGE_COLUMNS)

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        if not self.query:
            return ordering
        # With a search, order by an expression no index has: otherwise
        # PostgreSQL may walk the whole updated_at index hoping to meet a
        # match soon (measured: 6-20 s for a title nothing matches, against
        # ~10 ms through the title index and a sort of what matched).
        updated = Coalesce("updated_at", "created_at")
        replaced = {"-updated_at": updated.desc(), "updated_at": updated.asc()}
        return [replaced.get(item, item) if isinstance(item, str) else item for item in ordering]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    form = forms.PostForm
    inlines = [ImageSourceInline, EntityInline]
    change_form_template = "admin/posts/post/change_form.html"

    list_display = (
        "title",
        "publication",
        "flag_list",
        "difficulty",
        "code_language",
        "last_reviewed",
        "reviewer",
        "updated_at",
    )
    list_filter = (
        "state",
        ScheduleFilter,
        FlagFilter,
        ReviewedFilter,
        "difficulty",
        StackFilter,
        ToolsFilter,
        CodeLanguageFilter,
    )
    list_select_related = ("reviewed_by",)
    list_per_page = 50
    ordering = ("-updated_at",)
    sortable_by = ("updated_at", "last_reviewed")
    search_fields = ("title", "source_id", "reference")
    search_help_text = (
        "A source id, reference or slug (or its beginning), or words of the title "
        "(each word as a word or its beginning)."
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice reads every post
    paginator = CappedCountPaginator
    view_on_site = True
    save_on_top = True
    actions = ["purge_cache"]

    @admin.action(description="Purge cache for selected posts", permissions=["change"])
    def purge_cache(self, request, queryset):
        result = cache_tags.purge_posts(
            # The change list's queryset joins reviewed_by, which only() cannot defer.
            queryset.select_related(None).only("pk", "slug"),
            reason="admin action",
            user=request.user,
        )
        if result.succeeded:
            self.message_user(request, f"Purged {result.pages} cached page(s) showing {queryset.count()} post(s).")
        else:
            self.message_user(
                request,
                "The page cache could not be reached; the purge is recorded and will be retried.",
                messages.ERROR,
            )

    fieldsets = (
        ("Article", {"fields": ("title", "slug", "topic", "summary", "body")}),
        (
            "Publication",
            {
                "fields": ("state", "published_at", "publish_at", "unpublish_at"),
                "description": SCHEDULE_HELP,
            },
        ),
        ("Classification", {"fields": ("stack", "tools", "code_language", "difficulty", "reading_time")}),
        (
            "Review",
            {
                "fields": (
                    "reviewer_notes",
                    "needs_human_review",
                    "ai_generated_style",
                    "revision_status",
                    "version",
                    "last_reviewed",
                    "reviewed_by",
                    "pending_import",
                    "flagged_at",
                    "claimed_by",
                    "claimed_at",
                ),
                "description": "A reviewer's approval clears “needs human review” and sets the review date.",
            },
        ),
        (
            "Scores and views",
            {"fields": ("view_count", "score_quality", "score_freshness", "score_depth", "score_clarity")},
        ),
        (
            "Generator",
            {
                "fields": (
                    "source_id",
                    "reference",
                    "ai_outline",
                    "ai_brief",
                    "checklist",
                    "notes",
                    "payload",
                    "content_hash",
                ),
                "description": "What the content generator sent with the article.",
            },
        ),
        ("Images", {"fields": ("has_images", "image_heavy")}),
        (
            "Bookkeeping",
            {
                "fields": (
                    "extra",
                    "record_hash",
                    "import_hash",
                    "lock_version_shown",
                    "created_at",
                    "updated_at",
                    "lock_version",
                    "base_revision",
                ),
                "classes": ("collapse",),
            },
        ),
    )
    add_fieldsets = (
        ("Article", {"fields": ("title", "slug", "topic", "summary", "body")}),
        ("Publication", {"fields": ("state", "publish_at", "unpublish_at"), "description": SCHEDULE_HELP}),
        ("Classification", {"fields": ("stack", "tools", "code_language", "difficulty", "reading_time")}),
        ("Review", {"fields": ("needs_human_review", "ai_generated_style", "revision_status")}),
        (
            "Scores and views",
            {"fields": ("view_count", "score_quality", "score_freshness", "score_depth", "score_clarity")},
        ),
        (
            "Generator",
            {"fields": ("source_id", "reference", "ai_outline", "ai_brief", "checklist", "notes", "payload")},
        ),
        ("Images", {"fields": ("has_images", "image_heavy")}),
    )
    readonly_fields = (
        "reviewer_notes",
        "published_at",
        "version",
        "last_reviewed",
        "reviewed_by",
        "pending_import",
        "flagged_at",
        "claimed_by",
        "claimed_at",
        "content_hash",
        "record_hash",
        "import_hash",
        "lock_version_shown",
        "created_at",
        "updated_at",
    )

    class Media:
        css = {"all": ["posts/admin/editorial.css"]}

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        # Lives as long as its request does.
        self._record_parts_by_request = weakref.WeakKeyDictionary()

    # -- change list ---------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        return PostChangeList

    def get_search_results(self, request, queryset, search_term):
        # Exact-or-prefix on the unique identities (their indexes answer), and
        # words of the title through the title index on PostgreSQL; see
        # admin_lists.search_posts and migration 0005 for the measurements.
        return search_posts(queryset, search_term), False

    @admin.display(description="flags")
    def flag_list(self, post):
        flags = [label for name, label in FLAG_LABELS.items() if getattr(post, name)]
        return ", ".join(flags) or "—"

    @admin.display(description="state", ordering="state")
    def publication(self, post):
        """The state, or "scheduled" with the time (in the site's time zone) when an event is coming."""
        if post.publish_at:
            until = f", until {_local(post.unpublish_at)}" if post.unpublish_at else ""
            return f"scheduled: publishes {_local(post.publish_at)}{until}"
        if post.unpublish_at:
            return f"{post.get_state_display()}, scheduled: unpublishes {_local(post.unpublish_at)}"
        return post.get_state_display()

    @admin.display(description="approved by", ordering="reviewed_by")
    def reviewer(self, post):
        return post.reviewed_by or "—"

    # -- change form ---------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if self.has_change_permission(request, obj):
            return self.fieldsets
        # Read-only: show the tags as names, and no form bookkeeping.
        shown = {"stack": "stack_names", "tools": "tools_names"}
        return [
            (
                title,
                {
                    **options,
                    "fields": [shown.get(name, name) for name in options["fields"] if name not in self.form_only],
                },
            )
            for title, options in self.fieldsets
        ]

    form_only = ("lock_version", "base_revision")

    @admin.display(description="stack")
    def stack_names(self, post):
        return ", ".join(item.tag.name for item in post.stack_items.select_related("tag")) or "—"

    @admin.display(description="tools")
    def tools_names(self, post):
        return ", ".join(item.tag.name for item in post.tool_items.select_related("tag")) or "—"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.readonly_fields)
        if obj is not None:
            readonly.append("source_id")
        if not request.user.has_perm(REVIEW_PERMISSION):
            # Clearing the flag is what approval does; only reviewers approve.
            readonly.append("needs_human_review")
            # Publishing, unpublishing and archiving are reviewer decisions (README, "Editing and reviewing").
            readonly.append("state")
            # A schedule is a publishing decision: only reviewers set or change it.
            readonly += ["publish_at", "unpublish_at"]
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The record's fields are the form's own (validated by the record
        # schema); only the site fields are model fields.
        kwargs["fields"] = [name for name in forms.SITE_FIELDS if name not in self.get_readonly_fields(request, obj)]
        form_class = super().get_form(request, obj, change=change, **kwargs)
        # The form validates the record with this request's inline rows (see posts/admin/forms.py).
        return type(form_class.__name__, (form_class,), {"shared_record_parts": self._record_parts(request)})

    def get_formset_kwargs(self, request, obj, inline, prefix):
        return {**super().get_formset_kwargs(request, obj, inline, prefix), "record_parts": self._record_parts(request)}

    def _record_parts(self, request) -> dict:
        """The {record field: formset} dict the post form and the inline formsets of one request share."""
        return self._record_parts_by_request.setdefault(request, {})

    def get_changeform_initial_data(self, request):
        return {"state": Post.State.DRAFT, **super().get_changeform_initial_data(request)}

    @admin.display(description="reviewers' decisions")
    def reviewer_notes(self, post):
        notes = post.review_notes.select_related("author")[:5]
        if not notes:
            return "—"
        return format_html_join(
            "",
            "<p>{} · {} · {}{}{}</p>",
            (
                (
                    timezone.localtime(note.created_at).strftime("%Y-%m-%d %H:%M"),
                    note.author or "—",
                    note.get_decision_display(),
                    ": " if note.text else "",
                    note.text,
                )
                for note in notes
            ),
        )

    @admin.display(description="lock version")
    def lock_version_shown(self, post):
        return post.lock_version

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), **self._form_links(object_id)}
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (EditConflict, WriteRejected, ValueError):
            if request.method != "POST":
                raise
            # Someone wrote between this form's validation and its write (the
            # transaction rolled back): validating again reports it on the form.
            return super().changeform_view(request, object_id, form_url, extra_context)

    def _form_links(self, object_id) -> dict:
        if object_id is None:
            return {"preview_url": reverse("admin:posts_post_add_preview")}
        return {
            "preview_url": reverse("admin:posts_post_preview", args=[object_id]),
            "revisions_url": reverse("admin:posts_post_revisions", args=[object_id]),
        }

    def save_model(self, request, obj, form, change):
        record = form.record
        source_id = record["payload"]["source_id"]
        # On add, expecting lock_version 0 makes "this source_id is taken" a
        # conflict instead of an update of someone else's post.
        expected = form.cleaned_data.get("lock_version") if change else 0
        result = services.posts_write(
            [services.prepare_record(record)],
            reason=Revision.Reason.EDIT,
            author=request.user,
            new_state=form.cleaned_data.get("state") or Post.State.DRAFT,
            expected_lock_versions={source_id: expected},
        )
        if result.rejected:
            raise WriteRejected(str(result.rejected[0][1]))
        post_id = result.post_ids[source_id]
        slug = form.cleaned_data.get("slug")
        if slug and (not change or "slug" in form.changed_data):
            services.post_change_slug(post_id, slug=slug, user=request.user)
        if change and "state" in form.changed_data:
            if not request.user.has_perm(REVIEW_PERMISSION):
                raise PermissionDenied  # the field is read-only for them; this is the server's own check
            services.post_set_state(post_id, state=form.cleaned_data["state"], user=request.user)
        if SCHEDULE_FIELDS & set(form.changed_data):
            services.post_set_schedule(
                post_id,
                publish_at=form.cleaned_data.get("publish_at"),
                unpublish_at=form.cleaned_data.get("unpublish_at"),
            )
        obj.pk = post_id
        # Documented model state (Model._state): the admin's redirect and log entry need a saved object.
        obj._state.adding = False
        obj.refresh_from_db()
        if result.unchanged and not {"slug", "state", *SCHEDULE_FIELDS} & set(form.changed_data):
            self.message_user(request, "Nothing changed, so no new revision was written.", messages.INFO)
        elif not result.unchanged:
            self.message_user(
                request, f"Saved as version {obj.version or '(none)'}; the previous content is in its history."
            )

    def save_related(self, request, form, formsets, change):
        """Nothing to do: posts_write stored the tags, entities and image sources with the record."""

    def construct_change_message(self, request, form, formsets, add=False):
        message = construct_change_message(form, [], add)
        changed = [str(formset.model._meta.verbose_name_plural) for formset in formsets if formset.has_changed()]
        if changed and not add:
            message.append({"changed": {"fields": changed}})
        return message

    def delete_model(self, request, obj):
        services.posts_delete([obj.pk], user=request.user)

    def delete_queryset(self, request, queryset):
        services.posts_delete(list(queryset.values_list("pk", flat=True)), user=request.user)

    # -- preview, history, rollback ------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upcoming/", view(self.upcoming_view), name="posts_post_upcoming"),
            path("add/preview/", view(self.preview_view), name="posts_post_add_preview"),
            path("<path:object_id>/preview/", view(self.preview_view), name="posts_post_preview"),
            path("<path:object_id>/revisions/", view(self.revisions_view), name="posts_post_revisions"),
            path(
                "<path:object_id>/revisions/<int:revision_id>/rollback/",
                view(self.rollback_view),
                name="posts_post_rollback",
            ),
            *super().get_urls(),
        ]

    def _post_or_404(self, request, object_id) -> Post:
        post = self.get_object(request, unquote(object_id))
        if post is None:
            raise Http404(f"No post with id {object_id!r}.")
        return post

    def preview_view(self, request, object_id=None):
        """The article as the unsaved form would render it (POSTed by the form's Preview button)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        post = self._post_or_404(request, object_id) if object_id else None
        allowed = self.has_change_permission(request, post) if post else self.has_add_permission(request)
        if not allowed:
            raise PermissionDenied
        form_class = self.get_form(request, post, change=post is not None)
        form = form_class(request.POST, instance=post)
        form.check_lock_version = False
        for inline, formset_class, prefix in self._inline_formsets(request, post):
            formset_class(**self.get_formset_kwargs(request, form.instance, inline, prefix))
        if form.is_valid() and form.record is not None:
            # The reader's own template and CSS (framed by the form's preview panel, or in a tab).
            return article.article_response(request, form.record, post=post)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Preview",
            "post": post,
            "errors": _form_errors(form),
        }
        response = TemplateResponse(request, "admin/posts/post/preview.html", context)
        response["Cache-Control"] = "no-store"
        response["X-Frame-Options"] = "SAMEORIGIN"
        response[HEADER] = framed_by_own_pages_header()
        return response

    def _inline_formsets(self, request, obj):
        prefixes = {}
        for formset_class, inline in self.get_formsets_with_inlines(request, obj):
            prefix = formset_class.get_default_prefix()
            prefixes[prefix] = prefixes.get(prefix, 0) + 1
            if prefixes[prefix] != 1 or not prefix:
                prefix = f"{prefix}-{prefixes[prefix]}"
            yield inline, formset_class, prefix

    def upcoming_view(self, request):
        """Scheduled publications and unpublications still to come, soonest first."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])  # a page to read: nothing is changed here
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upcoming publications and unpublications",
            "events": scheduling.upcoming_events(),
            "time_zone": timezone.get_current_timezone_name(),
        }
        return TemplateResponse(request, "admin/posts/post/upcoming.html", context)

    def revisions_view(self, request, object_id):
        """A post's revisions, newest first, and the diff between any two of them."""
        post = self._post_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, post):
            raise PermissionDenied
        all_revisions = post.revisions.select_related("author")
        page = Paginator(all_revisions, 50).get_page(request.GET.get("page"))
        live = revisions.live_revision(post.pk)
        old, new = _chosen_pair(post, request.GET, live)
        diff = (
            diffing.record_diff(revisions.revision_record(old), revisions.revision_record(new)) if old and new else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"History of “{post}”",
            "post": post,
            "page": page,
            "live": live,
            "old": old,
            "new": new,
            "diff": diff,
            "can_rollback": self.has_change_permission(request, post),
            "pending": revisions.pending_revision(post),
        }
        return TemplateResponse(request, "admin/posts/post/revisions.html", context)

    def rollback_view(self, request, object_id, revision_id):
        """GET: what a rollback would change; POST: roll back (a new revision)."""
        post = self._post_or_404(request, object_id)
        if not self.has_change_permission(request, post):
            raise PermissionDenied
        target = Revision.objects.filter(post=post, pk=revision_id).select_related("author").first()
        if target is None:
            raise Http404(f"Post {post.pk} has no revision {revision_id}.")
        history_url = reverse("admin:posts_post_revisions", args=[post.pk])
        if request.method == "POST":
            lock_version = forms.posted_lock_version(request.POST)
            try:
                result = revisions.post_rollback(post, target, author=request.user, expected_lock_version=lock_version)
            except EditConflict:
                self.message_user(
                    request,
                    "The post changed while you were looking at it; check the changes below before rolling back.",
                    messages.ERROR,
                )
                return HttpResponseRedirect(request.path)
            except ValueError as error:
                self.message_user(request, str(error), messages.ERROR)
                return HttpResponseRedirect(history_url)
            if result.rejected:
                self.message_user(request, f"Rollback refused: {result.rejected[0][1]}", messages.ERROR)
            elif result.unchanged:
                self.message_user(request, "The post already has that content; nothing was written.", messages.INFO)
            else:
                self.message_user(
                    request, f"Rolled back to revision {target.number} (version {target.version or 'none'})."
                )
            return HttpResponseRedirect(history_url)
        live = revisions.live_revision(post.pk)
        current = revisions.current_record(post.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Roll back “{post}”",
            "post": post,
            "target": target,
            "live": live,
            "diff": diffing.record_diff(current, revisions.revision_record(target)),
            "history_url": history_url,
        }
        return TemplateResponse(request, "admin/posts/post/rollback.html", context)


def _chosen_pair(post: Post, params, live: Revision | None) -> tuple[Revision | None, Revision | None]:
    """The revisions to compare: ?old=&new= (ids), else the live one against the one before it."""
    chosen = {}
    for key in ("old", "new"):
        value = params.get(key, "")
        if value.isdigit():
            chosen[key] = post.revisions.filter(pk=int(value)).select_related("author").first()
    new = chosen.get("new") or live
    old = chosen.get("old")
    if old is None and new is not None:
        old = (
            post.revisions.filter(applied=True, created_at__lte=new.created_at)
            .exclude(pk=new.pk)
            .exclude(created_at=new.created_at, pk__gt=new.pk)
            .select_related("author")
            .first()
        )
    return old, new


def _form_errors(form) -> list[str]:
    errors = [
        f"{name}: {message}" if name != "__all__" else message
        for name, items in form.errors.items()
        for message in items
    ]
    for formset in form.record_parts.values():
        for number, row_errors in enumerate(formset.errors, start=1):
            for name, items in row_errors.items():
                errors += [f"{formset.record_field} row {number}, {name}: {message}" for message in items]
    return errors
