"""The reader site's pages. Reads live in querysets.py, search in search.py.

Every view tags the request with what the page shows (alphanode.pagecache's tag_page),
so that a change to a post purges exactly the cached pages that show it. For
anonymous readers a page depends only on its path and the query parameters its
view declares with page_query (the page cache's key), and nothing sets a cookie.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe
from taggit.models import Tag

from alphanode.pagecache.tagging import page_query, tag_page
from posts import cache_tags, paging, rendering, search
from posts.models import Entity, Post
from posts.similar import similar_posts
from posts.site import absolute_url


def _tag_listing(request, kind: str, slug: str, posts) -> None:
    tag_page(request, cache_tags.listing_tag(kind, slug), *(cache_tags.post_tag(post.pk) for post in posts))


def _listing(request, *, kind: str, slug: str = "", posts, heading: str, intro: str = "", feeds=None):
    page = paging.listing_page(posts.for_listing(), request.GET.get("page"))
    return _render_listing(request, page, kind=kind, slug=slug, heading=heading, intro=intro, feeds=feeds)


def _render_listing(request, page, *, kind, slug, heading, intro, feeds=None):
    _tag_listing(request, kind, slug, page)
    context = {
        "page": page,
        "kind": kind,
        "heading": heading,
        "intro": intro,
        "feeds": feeds or {},
        "canonical_url": _page_url(request, page.number),
    }
    return render(request, "posts/list.html", context)


def _page_url(request, number: int) -> str:
    """The absolute URL of a listing's page: no parameter for page 1, so it has one address."""
    return absolute_url(request.path + (f"?page={number}" if number > 1 else ""))


@page_query("page")
@require_safe
def home(request):
    feeds = {"rss": reverse("posts:feed_rss"), "atom": reverse("posts:feed_atom")}
    return _listing(request, kind="home", posts=Post.objects.latest_published(), heading="Latest posts", feeds=feeds)


# The tag listings: (queryset method, heading, intro) per kind of tag.
TAG_LISTINGS = {
    "stack": ("in_stack", "Stack", "Posts built on this stack, newest first."),
    "tools": ("in_tools", "Tool", "Posts that use this tool, newest first."),
}


@page_query("page")
@require_safe
def tag_listing(request, slug, kind):
    """/stack/<slug>/ and /tools/<slug>/: the published posts carrying a stack or tools tag."""
    tag = get_object_or_404(Tag, slug=slug)
    method, label, intro = TAG_LISTINGS[kind]
    feeds = {
        "rss": reverse(f"posts:{kind}_rss", kwargs={"slug": slug}),
        "atom": reverse(f"posts:{kind}_atom", kwargs={"slug": slug}),
    }
    return _listing(
        request,
        kind=kind,
        slug=slug,
        posts=getattr(Post.objects, method)(tag),
        heading=f"{label}: {tag.name}",
        intro=intro,
        feeds=feeds,
    )


@page_query("page")
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


@page_query("page")
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
    # The meta box, the tag lists and the facts below were rendered when the
    # post was written (posts/fragments.py); Similar Posts' ranking is cached (posts/similar.py).
    post = get_object_or_404(Post.objects.defer("body", "search_terms"), slug=slug)
    if not post.is_published and not request.user.is_staff:
        raise Http404("no published post at this address")
    facts = post.page_facts
    # Only an http(s) image becomes og:image and JSON-LD, whatever the row holds.
    image = facts.get("image")
    image = image if image and rendering.is_web_url(image["url"]) else None
    similar = similar_posts(post)
    tag_page(request, cache_tags.post_tag(post.pk), *(cache_tags.post_tag(other.pk) for other in similar))
    context = {
        "post": post,
        "canonical_url": absolute_url(post.get_absolute_url()),
        "keywords": facts.get("keywords", []),
        "image": image,
        "similar": similar,
        "can_edit": request.user.is_staff,
    }
    return render(request, "posts/detail.html", context)


# Every distinct query is a page: keep them five minutes, not a day (the store is bounded too).
@page_query("q", "page", max_seconds=300)
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
    sitemap = absolute_url(reverse("posts:sitemap_index"))
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /search/", "", f"Sitemap: {sitemap}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
