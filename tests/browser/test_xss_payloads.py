"""Stored XSS, hundreds of payloads: in every text field, rendered in Chromium on every page that shows a post.

The payloads (tests/browser/xss_payloads.py) are batched into a dozen posts:
each post carries its share in every text field of the record and in every
list. Chromium loads the reader pages (article, lists, feeds, search) as an
anonymous reader and the admin pages that show a post (change list, form,
preview, history, diff, rollback, review queue, review page) as a superuser,
with the page's Content-Security-Policy bypassed, so that escaping alone has
to hold. Nothing may run: window.__xss stays undefined, no dialog opens, no
console line says __xss, and no link, image or frame points at javascript:.
"""

import pytest
from django.core.management import call_command

from posts.models import ImageSource, Post
from tests.browser.xss_payloads import RUN, all_payloads, chunks
from tests.factories import PASSWORD, edit_post, make_record, make_user, write_records

# transactional_db: the posts are committed, so that gunicorn sees them; the test's end empties the tables.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHUNKS = chunks(41)

FIND_UNSAFE = """() => {
    const unsafe = [];
    const urlAttributes = ["href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                           "srcset", "srcdoc", "content"];
    for (const element of document.querySelectorAll("*")) {
        const tag = element.tagName.toLowerCase();
        // The admin's own frames (the review page's article, the form's live preview) are checked
        // as documents of their own (Watch.check); any other frame came from a payload.
        const ownFrames = ["editorial-preview-frame", "editorial-article-frame"];
        const ownFrame = tag === "iframe" && ownFrames.includes(element.className);
        if (["iframe", "object", "embed", "base", "frame", "frameset", "applet"].includes(tag) && !ownFrame) {
            unsafe.push(`<${tag}> element`);
        }
        if (tag === "meta" && (element.getAttribute("http-equiv") || "").toLowerCase() === "refresh") {
            unsafe.push("meta refresh");
        }
        if (tag === "script" && !element.src && !["application/ld+json", "application/json"].includes(element.type)
            && /__xss|alert\\(/.test(element.textContent)) {
            unsafe.push(`inline script ${element.textContent.slice(0, 80)}`);
        }
        for (const attribute of element.attributes) {
            const name = attribute.name.toLowerCase();
            const value = attribute.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
            if (name.startsWith("on")) {
                unsafe.push(`${tag} ${name}=${attribute.value.slice(0, 80)}`);
            }
            if (urlAttributes.includes(name) && /^(javascript|vbscript|data:text\\/html)/.test(value)) {
                unsafe.push(`${tag} ${name}=${attribute.value.slice(0, 80)}`);
            }
        }
    }
    return unsafe;
}"""

# Runs before any page script: alert and its kin mark an execution instead of opening a dialog.
HOOKS = """
for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = () => { window.__xss = name; };
}
"""


def payload_record(number: int, chunk: list[str]) -> dict:
    joined = " ".join(chunk)
    one_line = [payload.replace("\n", " ").replace("\t", " ").strip() for payload in chunk]
    return make_record(
        9000 + number,
        title=f"xss {number} {joined}"[:300],
        topic=f"xss topic {number} {joined}"[:300],
        summary=joined[:2000],
        body="\n\n".join(chunk) + "\n\n```python\n</code></pre>" + chunk[0] + "\n```\n",
        ai_outline={"context": joined, "problem": chunk[0], "recommended_action": chunk[-1]},
        ai_brief=joined[:4000],
        stack=list(dict.fromkeys(payload[:100] for payload in chunk)),
        tools=list(dict.fromkeys(f"t {payload}"[:100] for payload in chunk)),
        checklist=[payload[:1000] for payload in chunk],
        entities=[{"name": payload[:200], "type": chunk[0][:100]} for payload in chunk],
        image_sources=[
            {"source": payload[:300], "url": "https://example.org/x?q=" + "".join(payload.split()), "caption": payload}
            for payload in chunk[:3]
        ],
        reference=f"xss-ref-{number} {joined}"[:200],
        payload={
            "source_id": f"xss-{number}-{one_line[1]}"[:200].strip(),
            "generator": joined[:300],
            "scenario": joined[:2000],
            "paragraphs": 1,
            "seed": number,
            one_line[2][:60]: one_line[3],
            "nested": {one_line[4][:60]: [joined, {"deep": chunk[5]}]},
        },
        notes=chunk,
        flags={"ai_generated_style": True, "has_images": True, "image_heavy": False, "needs_human_review": True},
    )


@pytest.fixture
def payload_posts(transactional_db):
    """The payload posts (committed: gunicorn reads them), each edited once so history and diff have two sides."""
    records = [payload_record(number, chunk) for number, chunk in enumerate(CHUNKS)]
    write_records(*records)
    posts = list(Post.objects.filter(source_id__in=[r["payload"]["source_id"] for r in records]).order_by("pk"))
    for post, chunk in zip(posts, CHUNKS, strict=True):
        edit_post(post, summary=" ".join(reversed(chunk))[:2000], notes=list(reversed(chunk)))
    make_user("xss-admin", is_superuser=True)
    return list(Post.objects.filter(pk__in=[post.pk for post in posts]).order_by("pk"))


@pytest.fixture(scope="module")
def contexts(browser):
    """An anonymous reader and a signed-in superuser, both with the page's CSP bypassed."""
    reader = browser.new_context(bypass_csp=True)
    editor = browser.new_context(bypass_csp=True, viewport={"width": 1440, "height": 900})
    for context in (reader, editor):
        context.add_init_script(HOOKS)
        context.route(r"re:^https?://(?!127\.0\.0\.1[:/])", lambda route: route.abort())
    yield reader, editor
    reader.close()
    editor.close()


def sign_in(page, site_url) -> None:
    page.goto(f"{site_url}/admin/login/?next=/admin/")
    page.fill("#id_username", "xss-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{site_url}/admin/")


class Watch:
    """Loads pages in one tab and records anything that ran."""

    def __init__(self, context):
        self.page = context.new_page()
        self.ran: list[str] = []
        self.pages = 0
        self.page.on("dialog", lambda dialog: (self.ran.append(f"dialog {dialog.message}"), dialog.dismiss()))
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if "__xss" in message.text:
            self.ran.append(f"console {message.text[:100]}")

    def check(self, page, where: str) -> None:
        page.mouse.move(300, 300)
        page.mouse.move(700, 500)
        page.wait_for_timeout(50)
        for frame in page.frames:  # the page and the admin's own frames
            assert frame.evaluate("window.__xss") is None, (where, frame.url)
            assert frame.evaluate(FIND_UNSAFE) == [], (where, frame.url)
        assert self.ran == [], where
        self.pages += 1

    def visit(self, url: str, where: str, statuses=(200,)) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response.status in statuses, (where, response.status)
        self.check(self.page, where)


def test_at_least_two_hundred_payloads():
    assert len(all_payloads()) >= 200
    assert sum(len(chunk) for chunk in CHUNKS) == len(all_payloads())


def test_no_payload_runs_on_any_reader_page(payload_posts, site_url, contexts):
    reader, _ = contexts
    watch = Watch(reader)
    for post in payload_posts:
        watch.visit(site_url + post.get_absolute_url(), f"article {post.pk}")
        watch.visit(site_url + post.get_absolute_url(), f"article {post.pk}, cached")
    first = payload_posts[0]
    stack = first.stack_items.select_related("tag").first().tag
    tool = first.tool_items.select_related("tag").first().tag
    entity = first.entity_links.select_related("entity").first().entity
    for path in [
        "/",
        f"/stack/{stack.slug}/",
        f"/tools/{tool.slug}/",
        entity.get_absolute_url(),
        f"/topics/{first.topic_slug}/",
        "/feeds/rss/",
        "/feeds/atom/",
        f"/stack/{stack.slug}/rss/",
        f"/tools/{tool.slug}/atom/",
        "/search/?q=xss",
        "/search/?q=script",
        "/search/?q=onerror",
        "/sitemap.xml",
    ]:
        watch.visit(site_url + path, path)
    # The payloads as search queries, too (the box echoes the query).
    for payload in all_payloads()[::25]:
        watch.visit(site_url + "/search/?q=" + _quote(payload), f"search {payload!r}", statuses=(200, 400))
    print(f"{len(all_payloads())} payloads, {watch.pages} reader page loads, nothing ran")


def test_no_payload_runs_on_any_admin_page_that_shows_a_post(payload_posts, site_url, contexts):
    _, editor = contexts
    watch = Watch(editor)
    sign_in(watch.page, site_url)
    admin = f"{site_url}/admin/posts"
    watch.visit(f"{admin}/post/", "change list")
    watch.visit(f"{admin}/post/?q=xss", "change list search")
    watch.visit(f"{admin}/reviewqueue/", "review queue")
    for post in payload_posts:
        revisions = list(post.revisions.order_by("pk").values_list("pk", flat=True))
        assert len(revisions) == 2
        watch.visit(f"{admin}/post/{post.pk}/change/", f"form {post.pk}")
        with editor.expect_page() as opened:
            watch.page.click("button[name=_preview]")
        preview = opened.value
        preview.wait_for_load_state("load")
        assert preview.url.endswith("/preview/")  # the article as readers will see it, unsaved
        watch.check(preview, f"preview {post.pk}")
        preview.close()
        watch.visit(f"{admin}/post/{post.pk}/history/", f"history {post.pk}")
        watch.visit(f"{admin}/post/{post.pk}/revisions/", f"revisions {post.pk}")
        watch.visit(f"{admin}/post/{post.pk}/revisions/?old={revisions[0]}&new={revisions[1]}", f"diff {post.pk}")
        watch.visit(f"{admin}/post/{post.pk}/revisions/{revisions[0]}/rollback/", f"rollback {post.pk}")
        watch.visit(f"{admin}/reviewqueue/{post.pk}/change/", f"review page {post.pk}")
    print(f"{len(all_payloads())} payloads, {watch.pages} admin page loads, nothing ran")


def test_a_javascript_url_written_straight_into_the_database_is_never_a_link_or_image(
    payload_posts, site_url, contexts
):
    post = payload_posts[0]
    Post.objects.filter(pk=post.pk).update(
        body_html=(
            f'<p>first</p><figure class="post-figure"><img src="javascript:{RUN}" onerror="{RUN}"></figure>'
            f'<p><a href="javascript:{RUN}">a link</a> <a href=" JaVaScRiPt:{RUN}">spaced</a> '
            f'<img src="JAVASCRIPT:{RUN}"> <a href="data:text/html,<script>{RUN}</script>">data</a></p>'
        )
    )
    ImageSource.objects.filter(post=post).update(url=f"javascript:{RUN}")
    call_command("purge_cache", "--all", "--reason", "xss test: rows changed by hand")
    reader, editor = contexts
    for context, who in ((reader, "reader"), (editor, "editor")):
        watch = Watch(context)
        if who == "editor":
            sign_in(watch.page, site_url)
        watch.visit(site_url + post.get_absolute_url(), f"article ({who})")
        page = watch.page
        assert page.locator("a[href*='script:' i], img[src*='script:' i]").count() == 0
        for meta in page.locator("meta[property='og:image'], meta[name='twitter:image']").all():
            assert meta.get_attribute("content").lower().startswith(("http://", "https://"))
        assert "javascript:" not in page.locator("script[type='application/ld+json']").inner_text()
        assert page.locator("article a", has_text="a link").count() == 1  # the text stays, the URL goes
        if who == "editor":
            watch.visit(f"{site_url}/admin/posts/post/{post.pk}/change/", "form with a javascript: image URL")


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
