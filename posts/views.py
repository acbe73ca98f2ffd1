"""The reader site's pages. Reads live in querysets.py, search in search.py.

Every view tags the request with what the page shows (alphanode.pagecache's tag_page),
so that a change to a post purges exactly the cached pages that show it. For
anonymous readers a page depends only on its path and its `page`/`q`
parameters (the page cache's key), and nothing sets a cookie.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe
from taggit.models import Tag

from alphanode.pagecache.tagging import tag_page
from posts import cache_tags, exporting, metabox, paging, rendering, search
from posts.models import Entity, Post


def _tag_listing(request, kind: str, slug: str, posts) -> None:
    tag_page(request, cache_tags.listing_tag(kind, slug), *(cache_tags.post_tag(post.pk) for post in posts))


def _listing(request, *, kind: str, slug: str = "", posts, heading: str, intro: str = "", feeds=None):
    page = paging.listing_page(posts.for_listing(), request.GET.get("page"))
    return _render_listing(request, page, kind=kind, slug=slug, heading=heading, intro=intro, feeds=feeds)


def _render_listing(request, page, *, kind, slug, heading, intro, feeds=None):
    _tag_listing(request, kind, slug, page)
    context = {
        "page": page,
        "heading": heading,
        "intro": intro,
        "feeds": feeds or {},
        "canonical_url": _page_url(request, page.number),
    }
    return render(request, "posts/list.html", context)


def _page_url(request, number: int) -> str:
    """The absolute URL of a listing's page: no parameter for page 1, so it has one address."""
    return request.build_absolute_uri(request.path + (f"?page={number}" if number > 1 else ""))


@require_safe
def home(request):
    feeds = {"rss": reverse("posts:feed_rss"), "atom": reverse("posts:feed_atom")}
    return _listing(request, kind="home", posts=Post.objects.latest_published(), heading="Latest posts", feeds=feeds)


@require_safe
def stack(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    feeds = {
        "rss": reverse("posts:stack_rss", kwargs={"slug": slug}),
        "atom": reverse("posts:stack_atom", kwargs={"slug": slug}),
    }
    return _listing(
        request,
        kind="stack",
        slug=slug,
        posts=Post.objects.in_stack(tag),
        heading=f"Stack: {tag.name}",
        intro="Posts built on this stack, newest first.",
        feeds=feeds,
    )


@require_safe
def tools(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    feeds = {
        "rss": reverse("posts:tools_rss", kwargs={"slug": slug}),
        "atom": reverse("posts:tools_atom", kwargs={"slug": slug}),
    }
    return _listing(
        request,
        kind="tools",
        slug=slug,
        posts=Post.objects.in_tools(tag),
        heading=f"Tool: {tag.name}",
        intro="Posts that use this tool, newest first.",
        feeds=feeds,
    )


@require_safe
def entity(request, slug):
    found = get_object_or_404(Entity, slug=slug)
    return _listing(
        request,
        kind="entity",
        slug=slug,
        posts=Post.objects.naming(found),
        heading=f"{found.type.capitalize()}: {found.name}",
        intro="Posts about this, newest first.",
    )


@require_safe
def topic(request, slug):
    page = paging.listing_page(Post.objects.in_topic(slug).for_listing(), request.GET.get("page"))
    if not page.items:
        raise Http404(f"no published posts on the topic {slug!r}")
    return _render_listing(
        request,
        page,
        kind="topic",
        slug=slug,
        heading=f"Topic: {page.items[0].topic}",
        intro="Posts on this topic, latest first.",
    )


@require_safe
def detail(request, slug):
    # Before the lookup, so the 404 for a slug a post takes later is purged with that post.
    tag_page(request, cache_tags.slug_tag(slug))
    post = get_object_or_404(Post.objects.with_record_parts(), slug=slug)
    if not post.is_published and not request.user.is_staff:
        raise Http404("no published post at this address")
    similar = Post.objects.similar_to(post)
    tag_page(request, cache_tags.post_tag(post.pk), *(cache_tags.post_tag(other.pk) for other in similar))
    stack_tags = [item.tag for item in post.stack_items.all()]
    tool_tags = [item.tag for item in post.tool_items.all()]
    links = {
        "stack": {tag.name: reverse("posts:stack", kwargs={"slug": tag.slug}) for tag in stack_tags},
        "tools": {tag.name: reverse("posts:tools", kwargs={"slug": tag.slug}) for tag in tool_tags},
    }
    if post.topic_slug:
        links["topic"] = {post.topic: reverse("posts:topic", kwargs={"slug": post.topic_slug})}
    figure = next(iter(post.image_sources.all()), None)
    context = {
        "post": post,
        "canonical_url": request.build_absolute_uri(post.get_absolute_url()),
        "keywords": list(dict.fromkeys(tag.name for tag in (*stack_tags, *tool_tags))),
        # Only an http(s) image becomes og:image and JSON-LD, whatever the row holds.
        "image_url": figure.url if figure and rendering.is_web_url(figure.url) else "",
        "meta_rows": metabox.meta_rows(exporting.record_of(post), links=links),
        "similar": similar,
        "stack_tags": stack_tags,
        "tool_tags": tool_tags,
        "entities": [link.entity for link in post.entity_links.all()],
        "can_edit": request.user.is_staff,
    }
    return render(request, "posts/detail.html", context)


@require_safe
def search_page(request):
    context = {"query": request.GET.get("q", ""), "page": None, "error": ""}
    status = 200
    try:
        query = search.clean_query(request.GET.get("q"))
    except search.QueryError as error:
        context["error"] = str(error)
        # An empty box is the search page itself; an over-long query is a bad request.
        status = 200 if not context["query"].strip() else 400
    else:
        context["query"] = query
        try:
            context["page"] = search.search_posts(query, request.GET.get("page"))
        except search.SearchTooSlow as error:
            # 503: not a page to keep in a cache; the message says a retry will not help.
            context["error"], status = str(error), 503
        else:
            _tag_listing(request, "search", "", context["page"])
    tag_page(request, cache_tags.listing_tag("search"))
    return render(request, "posts/search.html", context, status=status)


@require_safe
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("posts:sitemap_index"))
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /search/", "", f"Sitemap: {sitemap}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
