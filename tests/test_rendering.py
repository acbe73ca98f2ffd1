"""Markdown to safe HTML: highlighting, the figure, and untrusted input."""

import re

from posts import rendering
from tests.factories import SAMPLE


def test_sample_body_renders_headings_list_and_highlighted_code():
    html = rendering.render_record(SAMPLE)
    assert "<h2>the practical approach</h2>" in html
    assert "<ul>\n<li>inspect cache headers</li>" in html
    assert '<pre class="highlight" data-language="python"><code class="language-python">' in html
    assert '<span class="kn">from</span>' in html


def test_figure_follows_the_first_paragraph():
    html = rendering.render_record(SAMPLE)
    first_paragraph_end = html.index("</p>") + len("</p>\n")
    assert html[first_paragraph_end:].startswith('<figure class="post-figure">')
    figure = html[first_paragraph_end : html.index("</figure>")]
    assert 'loading="lazy"' in figure
    assert 'width="1200" height="630"' in figure
    assert (
        "<figcaption>building safer deployment steps with python services visual reference 1. "
        "image source: placehold.co</figcaption>" in figure
    )


def test_fence_language_wins_over_post_language_and_unknown_is_escaped():
    html = rendering.render_body("```go\nfunc main() {}\n```\n\n```nolang\n<b>x</b>\n```\n", code_language="python")
    assert 'data-language="go"' in html
    assert "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>" in html


def test_untrusted_markup_is_removed():
    body = (
        "hello <script>window.__xss=1</script> <img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) ![i](data:image/png;base64,AAAA) <a href='JaVaScRiPt:alert(1)'>x</a>\n\n"
        '<div onclick="alert(1)" style="color:red">styled</div>\n\n<iframe src="https://evil"></iframe>\n'
    )
    html = rendering.render_body(body).lower()
    for needle in ("<script", "onerror", "onclick", "<iframe", "style="):
        assert needle not in html
    # The text "javascript:" may stay as words; it must never be a link or image address.
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*(javascript|data):""", html)
    assert "<p>[click](javascript:alert(1))" in html


def test_figure_parts_are_escaped():
    image = {"source": "<b>host</b>", "url": 'https://x.test/a"onload="alert(1)', "caption": "<script>x</script>"}
    html = rendering.render_body("para\n", figure_image=image)
    assert "<script>" not in html
    assert '"onload' not in html
    assert "&lt;b&gt;host&lt;/b&gt;" in html


def test_image_size_from_url_or_default():
    assert rendering.image_size("https://placehold.co/800x600/png") == (800, 600)
    assert rendering.image_size("https://example.test/cat.png") == rendering.DEFAULT_IMAGE_SIZE
