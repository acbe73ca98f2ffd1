"""The consistency oracle: after random changes, every reader page at the edge equals a fresh render.

Real stack: cached gunicorn app servers sharing the page store, varnishd
(deploy/varnish/alphanode.vcl) in front of them, and one more gunicorn with
PAGECACHE_ENABLED=0 as the truth. Random operations go through the one write
path (imports of new and changed records, editors' edits of titles, slugs,
tags and bodies, unpublish, publish, approve, rollback); after each batch every
reader page (articles, home pages, tag, entity and topic pages, feeds, the
sitemap, and every URL ever seen, old slugs too) is fetched through the edge and
straight from a cached app server (the app's own store only), and compared with
the truth. The only allowed difference is the Similar Posts freshness budget of
docs/page-cache.md: a cached article may miss a post that became similar since,
but every post it shows must be published, with its current title and URL.
"""

import html
import random
import re
from urllib.parse import urlsplit

import pytest

from posts import reviewing, services
from posts.models import Post
from posts.revisions import post_rollback
from tests.conftest import subprocess_env
from tests.factories import edit_post, make_record, make_user, write_records
from tests.gunicorn_server import start_gunicorn
from tests.varnish_server import start_varnish

pytestmark = pytest.mark.slow

STACKS = ["python", "go", "rust", "backend"]
TOOLS = ["git", "docker", "make", "pytest"]
TOPICS = ["deploying safely", "caching pages", "testing code"]
ENTITIES = [("postgresql", "tool"), ("redis", "tool"), ("varnish", "tool")]
OPERATIONS_PER_BATCH = 30
BATCHES = 4
SIMILAR = re.compile(rb'<section class="similar".*?</section>', re.S)
LINK = re.compile(rb'(?:href|src)="([^"]*)"|<loc>([^<]*)</loc>|<link>([^<]*)</link>')
SIMILAR_ENTRY = re.compile(rb'<li><a href="([^"]*)">([^<]*)</a></li>')


@pytest.fixture(params=[1, 2], ids=["one-app-server", "two-app-servers"])
def stack(request, transactional_db, collected_static, tmp_path, settings):
    env = subprocess_env(ALLOWED_HOSTS="127.0.0.1", STATIC_ROOT=str(collected_static), SITE_URL="http://127.0.0.1")
    apps = [start_gunicorn(env, tmp_path / f"app-{n}.log", workers=1) for n in range(request.param)]
    truth = start_gunicorn({**env, "PAGECACHE_ENABLED": "0"}, tmp_path / "truth.log", workers=1)
    edge = start_varnish(tmp_path / "edge", [app.port for app in apps])
    settings.EDGE_PURGE_URLS = [edge.purge_url]
    settings.EDGE_SETTLE_SECONDS = 0
    yield apps, edge, truth
    edge.stop()
    for server in (*apps, truth):
        server.stop()


def random_record(rng: random.Random, number: int) -> dict:
    return make_record(
        number,
        title=f"{rng.choice(['Shipping', 'Caching', 'Testing', 'Tuning'])} notes {number}.{rng.randrange(1000)}",
        body=f"Body {rng.randrange(10**6)}. " * rng.randint(3, 8),
        stack=rng.sample(STACKS, rng.randint(1, 2)),
        tools=rng.sample(TOOLS, rng.randint(1, 2)),
        topic=rng.choice(TOPICS),
        entities=[{"name": name, "type": kind} for name, kind in rng.sample(ENTITIES, rng.randint(0, 2))],
    )


class Operations:
    """Random changes through the services, as the importer, editors and reviewers make them."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.next_number = 1
        self.reviewer = make_user("oracle-reviewer", "Reviewers", "Editors")

    def post(self) -> Post:
        return self.rng.choice(list(Post.objects.order_by("pk")))

    def run_one(self) -> str:
        kinds = ["import_new", "import_changed", "edit", "slug", "unpublish", "publish", "approve", "rollback"]
        kind = self.rng.choices(kinds, weights=[2, 2, 4, 1, 1, 1, 1, 1])[0]
        getattr(self, kind)()
        return kind

    def import_new(self):
        records = [random_record(self.rng, self.next_number + n) for n in range(self.rng.randint(1, 3))]
        self.next_number += len(records)
        write_records(*records)

    def import_changed(self):
        post = self.post()
        number = int(post.source_id.removeprefix("test-"))
        write_records(random_record(self.rng, number))

    def edit(self):
        post = self.post()
        change = self.rng.choice(["title", "body", "tags", "all"])
        fresh = random_record(self.rng, 0)
        fields = {
            "title": {"title": fresh["title"]},
            "body": {"body": fresh["body"]},
            "tags": {"stack": fresh["stack"], "tools": fresh["tools"], "topic": fresh["topic"]},
            "all": {key: fresh[key] for key in ("title", "body", "stack", "tools", "entities")},
        }[change]
        edit_post(post, author=self.reviewer, **fields)

    def slug(self):
        post = self.post()
        services.post_change_slug(post.pk, slug=f"moved-{post.pk}-{self.rng.randrange(10**6)}")

    def unpublish(self):
        reviewing.posts_unpublish([self.post().pk], reviewer=self.reviewer)

    def publish(self):
        drafts = list(Post.objects.exclude(state=Post.State.PUBLISHED))
        if drafts:
            services.post_set_state(self.rng.choice(drafts).pk, state=Post.State.PUBLISHED)

    def approve(self):
        reviewing.posts_approve([self.post().pk], reviewer=self.reviewer)

    def rollback(self):
        post = self.post()
        older = list(post.revisions.filter(applied=True).order_by("-created_at")[1:4])
        if older:
            post_rollback(post, self.rng.choice(older), author=self.reviewer)


def reader_path(url: str) -> str | None:
    parts = urlsplit(html.unescape(url))
    if parts.netloc not in ("", "127.0.0.1") or not parts.path.startswith("/"):
        return None
    if parts.path.startswith(("/static/", "/admin/", "/search/", "/ops/", "/health", "/metrics")):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(truth, seen: set[str]) -> dict[str, tuple[int, bytes]]:
    """Every reader page reachable from the home page, feeds and sitemap, plus every URL seen before."""
    pages, queue = {}, ["/", "/sitemap.xml", "/feeds/rss/", "/feeds/atom/", *sorted(seen)]
    while queue:
        path = queue.pop()
        if path in pages:
            continue
        status, _, body = truth.get(path)
        pages[path] = (status, body)
        if status == 200:
            for match in LINK.finditer(body):
                found = reader_path(next(group for group in match.groups() if group is not None).decode())
                if found and found not in pages:
                    queue.append(found)
    return pages


def live_titles() -> dict[bytes, bytes]:
    """URL -> escaped title of every published post: what a Similar Posts entry may show."""
    return {
        post.get_absolute_url().encode(): html.escape(post.title).encode()
        for post in Post.objects.published().only("slug", "title")
    }


def differences(name, server, truth_pages, titles) -> list[str]:
    found = []
    for path, (status, body) in truth_pages.items():
        got_status, _, got = server.get(path)
        if got_status != status:
            found.append(f"{name} {path}: status {got_status}, fresh render {status}")
            continue
        if got == body:
            continue
        cached_similar, fresh_similar = SIMILAR.search(got), SIMILAR.search(body)
        if cached_similar is None or fresh_similar is None or SIMILAR.sub(b"", got) != SIMILAR.sub(b"", body):
            found.append(f"{name} {path}: differs from a fresh render")
            continue
        for url, title in SIMILAR_ENTRY.findall(cached_similar[0]):
            if titles.get(url) != title:
                found.append(f"{name} {path}: Similar Posts shows {url!r} {title!r}, which is not live as shown")
    return found


def test_every_reader_page_at_the_edge_and_in_the_store_equals_a_fresh_render(stack):
    apps, edge, truth = stack
    rng = random.Random(13)
    operations = Operations(rng)
    for _ in range(8):
        operations.import_new()
    seen: set[str] = set()
    done = []
    for batch in range(BATCHES + 1):
        pages = crawl(truth, seen)
        seen |= set(pages)
        titles = live_titles()
        found = differences("edge", edge, pages, titles)
        for n, app in enumerate(apps, start=1):
            found += differences(f"app server {n}", app, pages, titles)
        assert not found, f"after {len(done)} operations ({', '.join(done[-OPERATIONS_PER_BATCH:])}):\n" + "\n".join(
            found[:20]
        )
        if batch == BATCHES:
            break
        # The next crawl reads, at the edge and in the store, what this one cached before the changes.
        done += [operations.run_one() for _ in range(OPERATIONS_PER_BATCH)]
    assert len(seen) > 60, f"the crawl found only {len(seen)} pages"
    assert {"edit", "slug", "unpublish", "rollback", "import_changed"} <= set(done)
