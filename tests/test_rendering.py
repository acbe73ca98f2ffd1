"""Markdown to safe HTML: highlighting, the figure, and untrusted input."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posts import rendering
from tests.factories import SAMPLE

pytestmark = pytest.mark.same_on_every_backend


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


def _sanitized_the_slow_way(body: str, language: str | None) -> str:
    """What the body rendered to before highlighted code skipped the sanitizer: all of it sanitized."""
    md = rendering._markdown_for(language)
    return rendering.sanitize(md.renderer.render(md.parse(body), md.options, {}))


CODE = st.text(
    alphabet=st.sampled_from(list("abc xyz\n\t'\"&<>;=(){}[]/\\#`~*_-.:!?é\u00a0\u2028🙂0123456789")), max_size=60
)
# Raw HTML around the code that leaves elements, attributes or comments open.
AROUND = st.sampled_from(
    ["", "para\n\n", '<img alt="\n\n', "<table><tr><td>\n\n", "<a href='x'>\n\n", "<!--\n\n", "> quote\n"]
)


@settings(max_examples=300, deadline=None)
@given(
    code=CODE,
    language=st.sampled_from(["python", "js", "html", "sql", "go", "cpp"]),
    before=AROUND,
    after=AROUND,
)
def test_highlighted_code_put_in_after_sanitizing_gives_what_sanitizing_everything_gave(code, language, before, after):
    body = f"{before}```{language}\n{code}\n```\n\n{after}~~~\n{code}\n~~~\n"
    md = rendering._markdown_for(language)
    assert rendering._sanitized_tokens(md, md.parse(body)) == _sanitized_the_slow_way(body, language)


def test_a_marker_written_in_the_body_is_not_replaced_by_code():
    # The markers are random per render; a body guessing their shape gets its text back, escaped.
    body = '```python\nx = 1\n```\n\n<code class="language-python">00000000000000000z</code>\n'
    html = rendering.render_body(body)
    assert html == _sanitized_the_slow_way(body, None)
    assert html.count('<span class="n">x</span>') == 1


def test_code_with_quotes_ampersands_and_no_break_spaces_takes_the_quick_way(monkeypatch):
    body = "```python\ns = \"it's\" & '\u00a0' < 2\n```\n"
    expected = _sanitized_the_slow_way(body, None)
    calls, clean = [], rendering.sanitize
    monkeypatch.setattr(rendering, "sanitize", lambda html: calls.append(html) or clean(html))
    assert rendering.render_body(body) == expected
    assert len(calls) == 1 and "&quot;" not in calls[0]  # the code itself never reached the sanitizer
