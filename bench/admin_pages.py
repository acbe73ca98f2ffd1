"""Admin page timings: the post change list, its filters and search, the review queue, the admin home.

    python manage.py collectstatic --noinput
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch db> python bench/admin_pages.py

Run it against a database holding the posts to measure (e.g. a million from
generate_posts + import_posts). It signs in as a superuser `bench-admin`
(created if missing: use a scratch database), requests each page a few times
through Django's test client and prints the median time and the number of
SQL queries. Every page must keep a constant number of queries.

Measured on this kind of machine (2 vCPUs shared with other work), 1,120,000
posts on PostgreSQL 15: every list page 11-96 ms, a title-words search about
300 ms, the change form 70 ms; 5-13 queries per page.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from posts.models import Post  # noqa: E402

PAGES = [
    ("admin home", "/admin/"),
    ("posts", "/admin/posts/post/"),
    ("posts, page 50", "/admin/posts/post/?p=50"),
    ("posts, state draft", "/admin/posts/post/?state__exact=draft"),
    ("posts, flag needs review", "/admin/posts/post/?flag=needs_review"),
    ("posts, language haskell (rare)", "/admin/posts/post/?language=haskell"),
    ("posts, stack python", "/admin/posts/post/?stack=python"),
    ("posts, approved here", "/admin/posts/post/?reviewed=yes"),
    ("posts, search source id", "/admin/posts/post/?q=gen-5-0001234"),
    ("posts, search title words", "/admin/posts/post/?q=kubernetes+deploy"),
    ("posts, search no match", "/admin/posts/post/?q=zzqqxx"),
    ("review queue", "/admin/posts/reviewqueue/"),
    ("review queue, longest waiting", "/admin/posts/reviewqueue/?o=5"),
    ("review queue, pending import", "/admin/posts/reviewqueue/?reason=pending_import"),
    ("review queue, stack go", "/admin/posts/reviewqueue/?stack=go"),
]


def main() -> None:
    setup_test_environment()
    settings.DEBUG = True  # record queries
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    post = Post.objects.order_by("-pk").first()
    pages = [*PAGES, ("post change form", f"/admin/posts/post/{post.pk}/change/")] if post else PAGES
    print(f"{Post.objects.count()} posts on {connection.vendor}")
    for name, url in pages:
        times, queries = [], 0
        for _ in range(3):
            reset_queries()
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            queries = len(connection.queries)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{name:34} {statistics.median(times) * 1000:8.0f} ms  {queries:3d} queries")


if __name__ == "__main__":
    main()
