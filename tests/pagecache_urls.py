"""Small tagged views for exercising the page-cache middleware on its own."""

from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.urls import include, path

from posts import pagecache
from posts.models import Post


def article(request, slug):
    pagecache.tag_page(request, pagecache.slug_tag(slug))
    post = Post.objects.filter(slug=slug).first()
    if post is None:
        raise Http404("no such post")
    pagecache.tag_page(request, pagecache.post_tag(post.pk))
    return HttpResponse(f"<h1>{post.title}</h1><p>host {request.get_host()}</p>")


def listing(request):
    posts = list(Post.objects.order_by("pk"))
    pagecache.tag_page(request, pagecache.listing_tag("home"), *(pagecache.post_tag(p.pk) for p in posts))
    return HttpResponse(" | ".join(p.title for p in posts) + f" page={request.GET.get('page', '1')}")


def echo(request):
    pagecache.tag_page(request, pagecache.listing_tag("topic", "echo"))
    return HttpResponse(repr(sorted(request.GET.lists())))


def with_cookie(request):
    pagecache.tag_page(request, pagecache.listing_tag("home"))
    response = HttpResponse("cookie")
    response.set_cookie("tracking", "1")
    return response


def broken(request):
    pagecache.tag_page(request, pagecache.listing_tag("home"))
    return HttpResponse("broken", status=500)


def moved(request):
    pagecache.tag_page(request, pagecache.listing_tag("home"))
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
