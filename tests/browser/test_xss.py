"""Stored XSS: a record with script and event-handler payloads in every text field renders inert in Chromium."""

import pytest
from django.utils.text import slugify

from tests.factories import make_record

# No django_db: a test transaction would hold SQLite's write lock while gunicorn serves the page.
pytestmark = [pytest.mark.browser]

# Each payload sets window.__xss if it ever runs.
SCRIPT = "<script>window.__xss=1</script>"
IMG = "<img src=x onerror=window.__xss=1>"
SVG = "<svg onload=window.__xss=1>"
TEXT = f"{SCRIPT}{IMG}{SVG}\"><img src=x onerror=window.__xss=1>'-alert(1)-'"
TAG = IMG  # tag names are at most 100 characters
BODY = f"""{SCRIPT} first paragraph {IMG}

{SVG}

[a link](javascript:window.__xss=1) and [another](JaVaScRiPt:window.__xss=1)

<a href="javascript:window.__xss=1">raw link</a> <a href=" javascript:window.__xss=1">spaced</a>

![image](javascript:window.__xss=1)

<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>

<details open ontoggle="window.__xss=1"><summary>details</summary></details>

<form action="javascript:window.__xss=1"><button formaction="javascript:window.__xss=1">go</button></form>

<div style="background:url(javascript:window.__xss=1)" onmouseover="window.__xss=1">hover</div>

<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1></style></mglyph></table></mtext></math>

```python
</code></pre>{SCRIPT}
```
"""


def xss_record(number: int) -> dict:
    return make_record(
        number,
        title=f"xss {number} {TEXT}"[:300],
        topic=f"xss topic {TEXT}"[:300],
        summary=f"xss summary {TEXT}",
        body=BODY,
        ai_outline={"context": TEXT, "problem": SCRIPT, "recommended_action": IMG},
        ai_brief=TEXT,
        stack=[TAG, f"{SCRIPT}"[:100], "xss-stack"],
        tools=[SVG, "xss-tool"],
        checklist=[TEXT, SCRIPT],
        entities=[{"name": TEXT[:200], "type": IMG}, {"name": "xss entity", "type": SCRIPT}],
        image_sources=[
            {
                "source": TEXT[:300],
                "url": 'https://example.org/x.png?"><svg/onload=window.__xss=1>',
                "caption": TEXT,
            }
        ],
        reference=f"xss-{number} {SCRIPT}",
        payload={
            "source_id": f"xss-{number}-{SCRIPT}",
            "generator": TEXT,
            "scenario": IMG,
            "paragraphs": 1,
            "seed": 1,
            IMG: SCRIPT,
            "nested": {SVG: [TEXT, {"deep": IMG}]},
        },
        notes=[TEXT, IMG],
    )


RECORDS = [xss_record(1), xss_record(2)]

FIND_UNSAFE_URLS = """() => {
    const unsafe = [];
    for (const element of document.querySelectorAll("*")) {
        for (const attribute of element.attributes) {
            const value = attribute.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
            if (["javascript:", "vbscript:", "data:text/html"].some((scheme) => value.startsWith(scheme))) {
                unsafe.push(`${element.tagName} ${attribute.name}=${attribute.value}`);
            }
            if (attribute.name.startsWith("on")) {
                unsafe.push(`${element.tagName} ${attribute.name}=${attribute.value}`);
            }
        }
    }
    return unsafe;
}"""


def _pages(posts) -> list[str]:
    post = posts[f"xss-1-{SCRIPT}"]
    link = post.entity_links.select_related("entity").first()
    stack = post.stack_items.select_related("tag").first()
    tool = post.tool_items.select_related("tag").first()
    return [
        post.get_absolute_url(),
        "/",
        f"/stack/{stack.tag.slug}/",
        f"/tools/{tool.tag.slug}/",
        link.entity.get_absolute_url(),
        f"/topics/{post.topic_slug}/",
        "/search/?q=xss",
        "/search/?q=" + SCRIPT,
        "/feeds/rss/",
        f"/no-such-page/{slugify(SCRIPT)}/",
    ]


def test_payloads_in_every_field_stay_inert(page, site_url, committed_posts):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in _pages(committed_posts):
        response = page.goto(site_url + path, wait_until="load")
        assert response.status in (200, 404), path
        page.mouse.move(200, 400)
        page.wait_for_timeout(100)
        assert page.evaluate("window.__xss") is None, path
        assert page.evaluate(FIND_UNSAFE_URLS) == [], path
    assert dialogs == []


def test_payload_text_is_shown_as_text(page, site_url, committed_posts):
    post = committed_posts[f"xss-1-{SCRIPT}"]
    page.goto(site_url + post.get_absolute_url(), wait_until="load")
    article = page.locator("article").inner_text()
    assert f"xss 1 {SCRIPT}" in article
    assert f"context: {TEXT}" in article
    assert page.title().startswith(f"xss 1 {SCRIPT}")
    # The other payload post shares its tags, so it is listed (as text) under Similar Posts.
    assert page.locator(".similar__list li").count() == 1
