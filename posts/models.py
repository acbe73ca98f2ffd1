"""The post and what hangs off it: entities, image sources, tags and revisions."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase

from posts.querysets import REVIEW_QUEUE, PostQuerySet, sitemap_block


class Post(models.Model):
    """One article; its content fields mirror the import record (see docs/post-format.md)."""

    class State(models.TextChoices):
        DRAFT = "draft", "draft"
        PUBLISHED = "published", "published"
        ARCHIVED = "archived", "archived"

    class Difficulty(models.TextChoices):
        BEGINNER = "beginner", "beginner"
        INTERMEDIATE = "intermediate", "intermediate"
        ADVANCED = "advanced", "advanced"

    # Identity.
    source_id = models.CharField(
        "source ID",
        max_length=200,
        unique=True,
        help_text="The record's identity (payload.source_id): an import with this source ID updates this post.",
    )
    reference = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(
        max_length=200,
        unique=True,
        help_text="The last part of the article's address (/posts/this-slug/): made from the title when the post is "
        "created, kept on re-import. Changing it breaks the links readers and search engines have.",
    )

    # Content, in the order of the record format.
    title = models.CharField(max_length=300)
    topic = models.CharField(max_length=300)
    summary = models.TextField(max_length=2000)
    body = models.TextField(help_text="Markdown (CommonMark with fenced code).")
    body_html = models.TextField(editable=False, help_text="The body rendered and sanitized when the post is written.")
    # JSON objects are kept as [key, value] pairs: PostgreSQL's jsonb reorders
    # object keys, and the order is part of the content (the meta box shows it).
    ai_outline = models.JSONField("AI outline", null=True, blank=True, help_text="[key, value] pairs.")
    ai_brief = models.TextField("AI brief", max_length=4000, null=True, blank=True)
    stack = TaggableManager(through="StackTag", related_name="stack_posts", blank=True)
    tools = TaggableManager(through="ToolTag", related_name="tool_posts", blank=True)
    code_language = models.CharField("code language", max_length=100, null=True, blank=True)
    difficulty = models.CharField(max_length=20, choices=Difficulty.choices, null=True, blank=True)
    reading_time = models.PositiveSmallIntegerField("reading time", null=True, blank=True, help_text="Minutes.")
    view_count = models.BigIntegerField("view count", null=True, blank=True)
    score_quality = models.PositiveSmallIntegerField("quality score", null=True, blank=True)
    score_freshness = models.PositiveSmallIntegerField("freshness score", null=True, blank=True)
    score_depth = models.PositiveSmallIntegerField("depth score", null=True, blank=True)
    score_clarity = models.PositiveSmallIntegerField("clarity score", null=True, blank=True)
    revision_status = models.CharField("revision status", max_length=50, null=True, blank=True)
    version = models.CharField(
        max_length=50, null=True, blank=True, help_text="The generator's revision, shown in the meta box, e.g. 1.5.8."
    )
    last_reviewed = models.DateField(
        "last reviewed",
        null=True,
        blank=True,
        help_text="Shown in the meta box; a reviewer's approval sets it to that day.",
    )
    content_hash = models.CharField(
        "content hash",
        max_length=128,
        null=True,
        blank=True,
        help_text="The generator's content hash (record field `hash`), shown in the meta box.",
    )
    ai_generated_style = models.BooleanField("AI-generated style", default=False)
    has_images = models.BooleanField("has images", default=False)
    image_heavy = models.BooleanField("image heavy", default=False)
    needs_human_review = models.BooleanField("needs human review", default=False)
    checklist = models.JSONField(default=list, blank=True)
    payload = models.JSONField(
        default=list, blank=True, help_text="payload fields besides source_id, as [key, value] pairs."
    )
    notes = models.JSONField(default=list, blank=True)
    extra = models.JSONField(
        default=list, blank=True, help_text="Unknown record fields kept by `import_posts --keep-unknown`, as pairs."
    )

    # Derived from the record when the post is written, for the reader site's
    # topic pages and search. On PostgreSQL migration 0004 also adds a stored
    # generated `search_vector` tsvector column with a GIN index (posts/search.py).
    topic_slug = models.SlugField(
        "topic slug",
        max_length=300,
        blank=True,
        default="",
        editable=False,
        db_index=False,  # post_topic_latest covers lookups by topic
        help_text="The topic page's slug.",
    )
    search_terms = models.TextField(
        "search terms", blank=True, default="", editable=False, help_text="Topic, tags and entity names, for search."
    )
    # The article's parts that depend only on the record, rendered when the post
    # is written like body_html (posts/fragments.py).
    meta_html = models.TextField(
        "meta box HTML", blank=True, default="", editable=False, help_text="The article's post meta box."
    )
    tags_html = models.TextField(
        "tag lists HTML", blank=True, default="", editable=False, help_text="The article's Stack, Tools, About lists."
    )
    page_facts = models.JSONField(
        "page facts",
        default=dict,
        blank=True,
        editable=False,
        help_text="Keywords, image URL, tag and entity ids the article needs.",
    )

    # Site state, separate from the generator's revision.status.
    state = models.CharField(
        max_length=20,
        choices=State.choices,
        default=State.PUBLISHED,
        help_text="Readers see published posts only; a draft or archived post's address answers “not found”.",
    )
    published_at = models.DateTimeField(
        "published", null=True, blank=True, help_text="When readers first saw the post; feeds and sitemaps date it so."
    )
    # The schedule (posts/scheduling.py): readers see the post only from
    # publish_at and until unpublish_at; the site applies both itself, on time.
    publish_at = models.DateTimeField(
        "publish at", null=True, blank=True, help_text="Goes live at this time (the site's time zone)."
    )
    unpublish_at = models.DateTimeField(
        "unpublish at", null=True, blank=True, help_text="Comes down at this time (the site's time zone)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Bookkeeping for the write path.
    record_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the current record.")
    import_hash = models.CharField(
        max_length=64, blank=True, editable=False, help_text="SHA-256 of the last record the importer received."
    )
    lock_version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped on every write.")
    pending_import = models.BooleanField(
        default=False, help_text="An import arrived after an editor's change and waits for review."
    )
    changed_since_approval = models.BooleanField(
        default=False, help_text="Readers see content (title, summary, body, figures, code) no reviewer approved yet."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The reviewer who last approved the post.",
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The reviewer working on the post now; others skip it until the claim lapses.",
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the claim was taken; it lapses after 30 minutes (REVIEW_CLAIM_MINUTES)."
    )
    flagged_at = models.DateTimeField(null=True, blank=True, help_text="When the post entered the review queue.")

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score_quality__lte=100), name="post_score_quality_range"),
            models.CheckConstraint(condition=Q(score_freshness__lte=100), name="post_score_freshness_range"),
            models.CheckConstraint(condition=Q(score_depth__lte=100), name="post_score_depth_range"),
            models.CheckConstraint(condition=Q(score_clarity__lte=100), name="post_score_clarity_range"),
            models.CheckConstraint(condition=Q(reading_time__lte=600), name="post_reading_time_range"),
            models.CheckConstraint(condition=Q(view_count__gte=0), name="post_view_count_positive"),
            models.CheckConstraint(condition=Q(state__in=["draft", "published", "archived"]), name="post_state_valid"),
        ]
        indexes = [
            # Home page and feeds: latest published first.
            models.Index(
                fields=["-published_at", "-id"],
                condition=Q(state="published"),
                name="post_latest_published",
            ),
            # Review queue: flagged or pending posts, most-read first.
            models.Index(fields=["-view_count", "id"], condition=REVIEW_QUEUE, name="post_review_queue"),
            # Review queue sorted by waiting time, and its rare "import waiting" part.
            models.Index(fields=["flagged_at", "id"], condition=REVIEW_QUEUE, name="post_review_queue_waiting"),
            models.Index(fields=["-view_count", "id"], condition=Q(pending_import=True), name="post_pending_import"),
            models.Index(fields=["-updated_at"], name="post_updated"),
            # Topic pages: one topic's published posts, latest first.
            models.Index(
                fields=["topic_slug", "-published_at", "-id"],
                condition=Q(state="published"),
                name="post_topic_latest",
            ),
            # The sitemap: posts search engines may index, by page (a block of ids) and newest
            # change first, so the index finds each page's lastmod with one probe (sitemaps.py).
            models.Index(
                sitemap_block(),
                F("updated_at").desc(),
                condition=Q(state="published", needs_human_review=False),
                name="post_sitemap_page",
            ),
            # Admin change list filters, newest change first.
            models.Index(fields=["state", "-updated_at"], name="post_state_updated"),
            # The "needs human review" filter: its page and its capped count, without reading
            # the table (a third of generated posts carry the flag; measured: a sequential scan).
            models.Index(
                fields=["-updated_at", "id"], condition=Q(needs_human_review=True), name="post_flagged_updated"
            ),
            models.Index(fields=["code_language", "-updated_at"], name="post_language_updated"),
            # The next scheduled event (an index probe each) and the upcoming page.
            models.Index(fields=["publish_at"], condition=Q(publish_at__isnull=False), name="post_publish_at"),
            models.Index(fields=["unpublish_at"], condition=Q(unpublish_at__isnull=False), name="post_unpublish_at"),
        ]
        permissions = [("review_post", "Can review posts (approve, request changes, unpublish)")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("posts:detail", kwargs={"slug": self.slug})

    @property
    def is_published(self) -> bool:
        """Readers can see it now: published, and inside its schedule."""
        return is_visible(self.state, self.publish_at, self.unpublish_at, timezone.now())

    @property
    def is_scheduled(self) -> bool:
        return self.publish_at is not None or self.unpublish_at is not None


def is_visible(state: str, publish_at, unpublish_at, now) -> bool:
    """The Python side of PostQuerySet.published(): published, not before publish_at, not from unpublish_at."""
    return (
        state == Post.State.PUBLISHED
        and (publish_at is None or publish_at <= now)
        and (unpublish_at is None or unpublish_at > now)
    )


class ReviewQueue(Post):
    """The posts waiting for a reviewer, as their own page in the admin (`Post.objects.flagged()`)."""

    class Meta:
        proxy = True
        verbose_name = "review queue entry"
        verbose_name_plural = "review queue"


class StackTag(TaggedItemBase):
    """A post's `stack` tag, in record order."""

    content_object = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="stack_items")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["content_object", "position"]
        constraints = [
            models.UniqueConstraint(fields=["content_object", "position"], name="stacktag_position_unique"),
        ]
        indexes = [models.Index(fields=["tag", "content_object"], name="stacktag_tag_post")]


class ToolTag(TaggedItemBase):
    """A post's `tools` tag, in record order."""

    content_object = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="tool_items")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["content_object", "position"]
        constraints = [
            models.UniqueConstraint(fields=["content_object", "position"], name="tooltag_position_unique"),
        ]
        indexes = [models.Index(fields=["tag", "content_object"], name="tooltag_tag_post")]


class Entity(models.Model):
    """A named thing (a stack, an area, a problem) shared by every post that names it."""

    name = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    slug = models.SlugField(max_length=320, unique=True)
    posts = models.ManyToManyField(Post, through="PostEntity", related_name="entities")

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["type", "name"]
        constraints = [models.UniqueConstraint(fields=["name", "type"], name="entity_name_type_unique")]

    def __str__(self):
        return f"{self.name} ({self.type})"

    def get_absolute_url(self):
        return reverse("posts:entity", kwargs={"slug": self.slug})


class PostEntity(models.Model):
    """Links a post to an entity, in record order."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="entity_links")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="post_links")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["post", "position"]
        constraints = [models.UniqueConstraint(fields=["post", "position"], name="postentity_position_unique")]
        indexes = [models.Index(fields=["entity", "post"], name="postentity_entity_post")]

    def __str__(self):
        return f"{self.post_id} -> {self.entity_id} #{self.position}"


class ImageSource(models.Model):
    """An image credited on a post; the first one is shown as the article's figure."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="image_sources")
    position = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=300, help_text="The host credited under the image.")
    url = models.URLField(max_length=2000)
    caption = models.TextField(max_length=2000)

    class Meta:
        ordering = ["post", "position"]
        constraints = [models.UniqueConstraint(fields=["post", "position"], name="imagesource_position_unique")]

    def __str__(self):
        return self.caption


class Revision(models.Model):
    """A post's content at one point in time, as a record in the import format."""

    class Reason(models.TextChoices):
        IMPORT = "import", "import"
        EDIT = "edit", "admin edit"
        ROLLBACK = "rollback", "rollback"
        REVIEW = "review", "review"
        SCHEDULE = "schedule", "scheduled publication"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(help_text="The post's own revision count: 1, 2, 3, ...")
    version = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=50, blank=True, help_text="The record's revision.status.")
    last_reviewed = models.DateField(null=True, blank=True)
    snapshot = models.TextField(help_text="The post as one import-format JSON line.")
    record_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    applied = models.BooleanField(
        default=True, help_text="False for an import held for review because an editor changed the post."
    )
    approved = models.BooleanField(default=False, help_text="A reviewer approved this content.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["post", "-created_at", "-id"], name="revision_post_latest"),
        ]
        constraints = [models.UniqueConstraint(fields=["post", "number"], name="revision_number_unique")]

    def __str__(self):
        return f"{self.post_id} #{self.number} v{self.version} ({self.reason})"


class ReviewNote(models.Model):
    """A reviewer's decision on a post, with what they wrote: the queue's memory."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "approved"
        CHANGES_REQUESTED = "changes_requested", "changes requested"
        UNPUBLISHED = "unpublished", "unpublished"
        PUBLISHED = "published", "published"
        IMPORT_APPLIED = "import_applied", "held import applied"
        IMPORT_DISMISSED = "import_dismissed", "held import dismissed"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="review_notes")
    decision = models.CharField(max_length=30, choices=Decision.choices)
    text = models.TextField("note", blank=True)
    revision = models.ForeignKey(
        Revision,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The revision the decision is about (the approved content, the applied import).",
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["post", "-created_at", "-id"], name="reviewnote_post_latest")]

    def __str__(self):
        return f"{self.get_decision_display()} on post {self.post_id}"
