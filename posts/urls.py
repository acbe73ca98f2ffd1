"""The reader site's URLs, at the root of the site."""

from django.urls import path

from posts import feeds, sitemaps, views

app_name = "posts"

urlpatterns = [
    path("", views.home, name="home"),
    path("posts/<slug:slug>/", views.detail, name="detail"),
    path("stack/<slug:slug>/", views.tag_listing, {"kind": "stack"}, name="stack"),
    path("stack/<slug:slug>/rss/", feeds.TagFeed("stack", "rss"), name="stack_rss"),
    path("stack/<slug:slug>/atom/", feeds.TagFeed("stack", "atom"), name="stack_atom"),
    path("tools/<slug:slug>/", views.tag_listing, {"kind": "tools"}, name="tools"),
    path("tools/<slug:slug>/rss/", feeds.TagFeed("tools", "rss"), name="tools_rss"),
    path("tools/<slug:slug>/atom/", feeds.TagFeed("tools", "atom"), name="tools_atom"),
    path("entities/<slug:slug>/", views.entity, name="entity"),
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("search/", views.search_page, name="search"),
    path("feeds/rss/", feeds.LatestPostsFeed("rss"), name="feed_rss"),
    path("feeds/atom/", feeds.LatestPostsFeed("atom"), name="feed_atom"),
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap_index"),
    path("sitemap-<section>.xml", sitemaps.sitemap_section, name="sitemap_section"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
]
