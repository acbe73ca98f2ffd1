"""Small tagged views for exercising the page-cache middleware on its own."""

from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.urls import include, path

from alphanode.pagecache.tagging import page_query, tag_page
from posts import cache_tags
from posts.models import Post


def article(request, slug):
    tag_page(request, cache_tags.slug_tag(slug))
    post = Post.objects.filter(slug=slug).first()
    if post is None:
        raise Http404("no such post")
    tag_page(request, cache_tags.post_tag(post.pk))
    return HttpResponse(f"<h1>{post.title}</h1><p>host {request.get_host()}</p>")


@page_query("page")
def listing(request):
    posts = list(Post.objects.order_by("pk"))
    tag_page(request, cache_tags.listing_tag("home"), *(cache_tags.post_tag(p.pk) for p in posts))
    return HttpResponse(" | ".join(p.title for p in posts) + f" page={request.GET.get('page', '1')}")


@page_query("page", "q")
def echo(request):
    tag_page(request, cache_tags.listing_tag("topic", "echo"))
    return HttpResponse(repr(sorted(request.GET.lists())))


def with_cookie(request):
    tag_page(request, cache_tags.listing_tag("home"))
    response = HttpResponse("cookie")
    response.set_cookie("tracking", "1")
    return response


def broken(request):
    tag_page(request, cache_tags.listing_tag("home"))
    return HttpResponse("broken", status=500)


def moved(request):
    tag_page(request, cache_tags.listing_tag("home"))
    return HttpResponsePermanentRedirect("/t/list/")


def untagged(request):
    return HttpResponse("not a reader page")


urlpatterns = [
    path("t/posts/<slug:slug>/", article),
    path("t/list/", listing),
    path("t/echo/", echo),
    path("t/cookie/", with_cookie),
    path("t/broken/", broken),
    path("t/moved/", moved),
    path("t/untagged/", untagged),
    # The site's own pages too: its templates (the 404 page) link to them.
    path("", include("posts.urls")),
]
