"""Change-list pieces shared by the post admin and the review queue: filters, paging, search.

Built for a million posts: no list shows a full COUNT(*), every filter is
backed by an index, and the filters' own choices come from cheap queries.
"""

import re

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils.functional import cached_property
from taggit.models import Tag

from posts.models import Post, StackTag, ToolTag

# Lists count at most this many rows. An exact COUNT(*) of a million posts on
# PostgreSQL reads a whole index on every page load; beyond this many, the
# exact number does not help anyone find a post.
COUNT_CAP = 10_000


class CheckedChangeList(ChangeList):
    """A change list that refuses parameters no database can compare (a NUL character).

    PostgreSQL rejects NUL in text, so any filter or search value with one
    would fail in the query; the admin answers invalid lookups with a redirect
    to ?e=1 instead of a 500.
    """

    def get_queryset(self, request, exclude_parameters=None):
        if any("\x00" in text for name, values in request.GET.lists() for text in (name, *values)):
            raise IncorrectLookupParameters("a NUL character in a filter or search")
        return super().get_queryset(request, exclude_parameters)


class OrderedChangeList(CheckedChangeList):
    """A change list's filtered, searched and ordered queryset, without a page of results.

    For finding "the next post in this list": Django's ChangeList also counts
    the rows and fetches the page (with its joins) when it is built; a caller
    that needs one row from the queryset should not pay for either.
    """

    def get_results(self, request):
        self.result_count = self.full_result_count = 0
        self.result_list = self.queryset.none()
        self.can_show_all = self.multi_page = False


def capped_count(queryset, cap: int = COUNT_CAP) -> int:
    """min(number of rows, cap + 1): cap + 1 means "more than cap"."""
    return queryset.order_by().values("pk")[: cap + 1].count()


class CappedCountPaginator(Paginator):
    """A paginator whose count stops at COUNT_CAP; `capped` says the real number is higher."""

    @cached_property
    def count(self) -> int:
        found = capped_count(self.object_list)
        self.capped = found > COUNT_CAP
        return min(found, COUNT_CAP)

    capped = False


# Columns no change list shows: not fetching them spares reading (and
# decompressing) a few kilobytes per row.
LARGE_COLUMNS = ("summary", "body", "body_html", "ai_outline", "ai_brief", "checklist", "payload", "notes", "extra")


def search_posts(queryset, term: str):
    """Posts whose source id, reference or slug starts with `term`, else whose title has its words.

    Identities first: source ids, references and slugs have no spaces, and a
    prefix match is answered by their unique indexes (varchar_pattern_ops on
    PostgreSQL), so pasting an id finds the post at once. Otherwise the title:
    on PostgreSQL every word of the term must start a word of the title, which
    the GIN index `post_title_words` (migration 0005) answers; a substring
    search (ILIKE '%...%') cannot use an index and reads every title (about a
    second per search at a million posts, measured). SQLite databases are
    small: there every word must appear somewhere in the title.
    """
    term = term.strip()
    if not term:
        return queryset
    if " " not in term:
        identity = queryset.filter(
            Q(source_id__startswith=term) | Q(reference__startswith=term) | Q(slug__startswith=term)
        )
        if identity.exists():
            return identity
    words = re.findall(r"[^\W_]+", term)
    if not words:
        return queryset.none()
    if connection.vendor != "postgresql":
        for word in words:
            queryset = queryset.filter(title__icontains=word)
        return queryset
    query = SearchQuery(" & ".join(f"{word}:*" for word in words), search_type="raw", config="simple")
    # The expression is exactly the index's: to_tsvector('simple', COALESCE(title, '')).
    return queryset.alias(title_words=SearchVector("title", config="simple")).filter(title_words=query)


class ScheduleFilter(admin.SimpleListFilter):
    """Posts with a publication or unpublication still to come (partial indexes post_publish_at, post_unpublish_at)."""

    title = "schedule"
    parameter_name = "schedule"

    def lookups(self, request, model_admin):
        return [("publish", "scheduled to publish"), ("unpublish", "scheduled to unpublish"), ("any", "scheduled")]

    def queryset(self, request, queryset):
        if self.value() == "publish":
            return queryset.filter(publish_at__isnull=False)
        if self.value() == "unpublish":
            return queryset.filter(unpublish_at__isnull=False)
        if self.value() == "any":
            return queryset.scheduled()
        return queryset


class FlagFilter(admin.SimpleListFilter):
    title = "flag"
    parameter_name = "flag"
    options = {
        "needs_review": ("needs human review", Q(needs_human_review=True)),
        "no_review": ("no review needed", Q(needs_human_review=False)),
        "ai_style": ("AI-generated style", Q(ai_generated_style=True)),
        "has_images": ("has images", Q(has_images=True)),
        "image_heavy": ("image heavy", Q(image_heavy=True)),
        "pending_import": ("import waiting for review", Q(pending_import=True)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.options.items()]

    def queryset(self, request, queryset):
        choice = self.options.get(self.value())
        return queryset.filter(choice[1]) if choice else queryset


class ReviewedFilter(admin.SimpleListFilter):
    title = "reviewed on this site"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", "approved by a reviewer"), ("no", "never approved here")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(reviewed_by__isnull=False)
        if self.value() == "no":
            return queryset.filter(reviewed_by__isnull=True)
        return queryset


class TagFilter(admin.SimpleListFilter):
    """Posts with one stack (or tools) tag; choices are the tags in use, by name."""

    through = StackTag
    max_choices = 200

    def lookups(self, request, model_admin):
        # One index probe per tag (stacktag_tag_post / tooltag_tag_post): the
        # tag table is small, the link table is millions of rows.
        used = Tag.objects.filter(Exists(self.through.objects.filter(tag=OuterRef("pk"))))
        choices = list(used.order_by("name").values_list("slug", "name")[: self.max_choices])
        selected = self.value()
        if selected and selected not in {slug for slug, _ in choices}:
            choices += list(Tag.objects.filter(slug=selected).values_list("slug", "name"))
        return choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # The tag's id first: with a constant tag_id PostgreSQL merges the
        # post and link indexes (13 ms measured), with a join on the tag's
        # slug it hashes every link of the tag (625 ms).
        tag_id = Tag.objects.filter(slug=self.value()).values_list("pk", flat=True).first()
        if tag_id is None:
            return queryset.none()
        return queryset.filter(Exists(self.through.objects.filter(content_object=OuterRef("pk"), tag_id=tag_id)))


class StackFilter(TagFilter):
    title = "stack"
    parameter_name = "stack"
    through = StackTag


class ToolsFilter(TagFilter):
    title = "tools"
    parameter_name = "tool"
    through = ToolTag


def code_languages() -> list[str]:
    """Every code language in use, by walking the post_language_updated index (one probe per language).

    A plain SELECT DISTINCT reads all million index entries; this "loose index
    scan" jumps from one value to the next.
    """
    table = connection.ops.quote_name(Post._meta.db_table)
    sql = f"""
        WITH RECURSIVE languages(value) AS (
            SELECT MIN(code_language) FROM {table}
            UNION ALL
            SELECT (SELECT MIN(code_language) FROM {table} WHERE code_language > languages.value)
            FROM languages WHERE languages.value IS NOT NULL
        )
        SELECT value FROM languages WHERE value IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class CodeLanguageFilter(admin.SimpleListFilter):
    title = "code language"
    parameter_name = "language"

    def lookups(self, request, model_admin):
        return [(language, language) for language in code_languages()]

    def queryset(self, request, queryset):
        return queryset.filter(code_language=self.value()) if self.value() else queryset
