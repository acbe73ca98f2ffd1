"""The sample's article in Chromium: its visible text is the reference text, line for line; screenshots."""

import json
import re

import pytest

from tests.conftest import SAMPLE_JSON, SAMPLE_RENDERED

# No django_db: a test transaction would hold SQLite's write lock while gunicorn serves the page.
pytestmark = [pytest.mark.browser]

RECORDS = [json.loads(SAMPLE_JSON.read_text())]


def visible_lines(text: str) -> list[str]:
    """Non-empty lines, list bullets and trailing spaces removed; code indentation kept."""
    lines = (re.sub(r"^\s*•\s*", "", line).rstrip() for line in text.splitlines())
    return [line for line in lines if line.strip()]


@pytest.fixture
def article_page(page, site_url, committed_posts):
    post = committed_posts["alphanode-004577"]
    response = page.goto(site_url + post.get_absolute_url(), wait_until="load")
    assert response.status == 200
    return page


def test_article_text_is_the_reference_text_line_for_line(article_page):
    reference = visible_lines(SAMPLE_RENDERED.read_text())
    article = visible_lines(article_page.locator("article").inner_text())
    # Every reference line, in order, nothing in between; extra lines only after the last one.
    assert article[: len(reference)] == reference
    assert article[len(reference) :] == ["No similar posts yet."]


def test_article_text_is_one_block_of_the_page_text(article_page):
    reference = visible_lines(SAMPLE_RENDERED.read_text())
    body = visible_lines(article_page.evaluate("document.body.innerText"))
    start = body.index(reference[0])
    assert body[start : start + len(reference)] == reference
    assert article_page.locator("article").count() == 1


def test_article_structure_and_styles(article_page):
    page = article_page
    assert page.locator("article h1").inner_text() == RECORDS[0]["title"]
    assert page.locator("article h2").all_inner_texts()[:4] == [
        "the practical approach",
        "production checks",
        "implementation checklist",
        "final notes",
    ]
    figure = page.locator("article figure.post-figure")
    image = figure.locator("img")
    assert image.get_attribute("loading") == "lazy"
    assert (image.get_attribute("width"), image.get_attribute("height")) == ("1200", "630")
    # Hashed, compressed static CSS served by whitenoise: the code block is dark.
    code_background = page.locator("pre.highlight").evaluate("element => getComputedStyle(element).backgroundColor")
    assert code_background == "rgb(13, 17, 23)"
    assert page.locator("pre.highlight span.kn").first.inner_text() == "from"
    assert page.locator("main").count() == 1 and page.locator("header.site-header nav").count() == 1


def test_screenshots_at_1440_and_360_pixels_without_sideways_scrolling(article_page, artifacts):
    page = article_page
    for width, height in ((1440, 900), (360, 780)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"article-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert (artifacts / f"article-{width}.png").stat().st_size > 10_000


def test_keyboard_focus_is_visible(article_page):
    page = article_page
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
