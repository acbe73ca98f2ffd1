"""cmark-gfm renders the bodies it can answer for exactly as markdown-it-py did, and leaves the rest to it."""

import ctypes
import os

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posts import cmark_html, generating, rendering

pytestmark = pytest.mark.same_on_every_backend

FIGURE = {"url": "https://placehold.co/1200x630", "caption": "a figure", "source": "placehold.co"}


def by_markdown_it(body: str, code_language: str | None, figure: dict | None) -> str:
    """What render_body gave before cmark: markdown-it-py for every body."""
    head, tail = rendering._rendered_by_markdown_it(body, code_language=code_language, split=figure is not None)
    return head + (rendering.render_figure(figure) if figure else "") + tail


def takes_cmark(body: str, code_language: str | None, figure: dict | None = None) -> bool:
    return cmark_html.body_parts(body, code_language=code_language, split=figure is not None) is not None


@pytest.mark.parametrize("seed", [1, 7, 4577])
def test_the_generated_corpus_renders_the_same_and_all_of_it_in_c(seed):
    for line in generating.generate_lines(400, seed=seed):
        record = msgspec.json.decode(line)
        figure = record["image_sources"][0] if record["image_sources"] else None
        body, language = record["body"], record["code_language"]
        assert takes_cmark(body, language, figure), record["payload"]["source_id"]
        assert rendering.render_record(record) == by_markdown_it(body, language, figure)


# The structures cmark_html reads from the HTML: code blocks of every kind and where they sit,
# and the first paragraph outside any list or quote.
STRUCTURES = [
    "",
    "just one paragraph",
    "# heading first\n\npara one\n\npara two\n",
    "- a list first\n- tight\n\npara after the list\n",
    "1. loose\n\n2. list\n\n   with a paragraph\n\npara\n",
    "> a quote with\n>\n> two paragraphs\n\npara after the quote\n",
    "> - a list in a quote\n>\n>   its paragraph\n\n---\n\nfinally a paragraph\n",
    "## no paragraph at all\n\n- only\n- a list\n",
    "```python\nx = 1 < 2 & 3 > \"q\" 'a'\n```\n\npara after code\n",
    "para\n\n~~~js extra words\nlet a = `t`;\n~~~\n",
    "para\n\n```\nno info: the post's language\n```\n",
    "para\n\n    indented code\n    x = 1\n",
    "para\n\n```nolang\n<b>escaped</b>\n```\n",
    "para\n\n```Python\nupper-case info\n```\n",
    "para\n\n```py\\_x &amp; y\nescapes in the info string\n```\n",
    "- item\n\n  ```go\n  func main() {}\n  ```\n\n> ```sql\n> select 1;\n> ```\n",
    "```python\nunclosed fence runs to the end\n",
    'para with `inline <code>` &amp; entities &copy; [a link](https://x.test/a?b=1&c=2 "t")\n',
    "para\n\n```python\n<pre><code>text that looks like a code block</code></pre>\n```\n",
    "para\n\n````\n```\nfence in a fence\n```\n````\n",
]


@pytest.mark.parametrize("body", STRUCTURES)
@pytest.mark.parametrize("code_language", [None, "python", "nolang"])
@pytest.mark.parametrize("figure", [None, FIGURE])
def test_each_structure_renders_as_markdown_it_rendered_it(body, code_language, figure):
    assert rendering.render_body(body, code_language=code_language, figure_image=figure) == by_markdown_it(
        body, code_language, figure
    )


@pytest.mark.parametrize(
    ("body", "code_language"),
    [
        ("para <b>raw html</b>\n", None),
        ("<div>\nan html block\n</div>\n", None),
        ("[x](javascript:alert(1))\n", None),  # cmark's safe mode empties the link: the renderings differ
        ("para\n\n```\nfence without info\n```\n", "python"),  # to cmark the same HTML as indented code
        ("para\n\n    indented code\n", "python"),
        ("```py\u00a0thon\nx\n```\n", None),  # markdown-it-py splits the info at U+00A0, cmark does not
        ("```js&#32;custom\ntest\n```\n", None),  # "js&#32;custom" to markdown-it-py, "js" to cmark
        ("```py\\_x\ntest\n```\n", None),
        ("- a list\n\n    >\n", None),  # an empty quote: "<blockquote>\n</blockquote>" to cmark
        ("a line ends in a tab\t\nand goes on\n", None),
        ("para ends in a no-break space\u00a0\n", None),  # which markdown-it-py strips, cmark does not
    ],
)
def test_what_the_html_cannot_tell_is_left_to_markdown_it(body, code_language):
    assert not takes_cmark(body, code_language)
    assert rendering.render_body(body, code_language=code_language) == by_markdown_it(body, code_language, None)


def test_unicode_space_is_every_space_to_python_but_the_ascii_ones_cmark_knows():
    spaces = {chr(point) for point in range(0x110000) if chr(point).isspace()} - set(" \t\n\r")
    assert {space for space in spaces if cmark_html.UNICODE_SPACE.fullmatch(space)} == spaces
    assert not cmark_html.UNICODE_SPACE.search(" \t\n\r")


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


def _malloced_bytes() -> int:
    """What the C library's malloc has handed out and not had back (glibc's mallinfo2)."""
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def test_rendering_frees_what_cmark_allocates():
    body = msgspec.json.decode(next(iter(generating.generate_lines(1, seed=4577))))["body"]
    cmark_html.markdown_to_html(body, 0)
    before = _malloced_bytes()
    for _ in range(1000):
        cmark_html.markdown_to_html(body, 0)
    # cmarkgfm.markdown_to_html keeps every result: len(body) and more a call, megabytes here.
    assert _malloced_bytes() - before < len(body) * 100


WORDS = st.sampled_from(
    [
        "alpha",
        "beta",
        "x1",
        "a-b",
        "caf\u00e9",
        "`code`",
        "&amp;",
        "[l](/u)",
        "<https://x.test>",
        "*em*",
        "**strong**",
        "_em_",
        "[ref]",
        "line  \nbreak",
        "back\\\nslash",
        "1.",
        "#",
        "![i](/i.png)",
    ]
)
LINE = st.lists(WORDS, min_size=1, max_size=5).map(" ".join)
CODE = st.text(alphabet=st.sampled_from(list("ab \n\t'\"&<>;=()/\\#`~*_-.\u00a0\u2028")), max_size=40)


def _block(kind: str, line: str, code: str, language: str) -> str:
    indented_code = "".join(f"    {text}\n" for text in code.split("\n") if text.strip()) or "    x\n"
    return {
        "para": f"{line}\n",
        "heading": f"## {line}\n",
        "list": f"- {line}\n- {line}\n",
        "loose list": f"1. {line}\n\n2. {line}\n",
        "quote": f"> {line}\n",
        "rule": "---\n",
        "fence": f"```{language}\n{code}\n```\n",
        "tilde fence": f"~~~{language}\n{code}\n~~~\n",
        "indented": indented_code,
        "fence in list": f"- {line}\n\n  ```{language}\n  {code.replace(chr(10), ' ')}\n  ```\n",
        "fence in quote": f"> ```{language}\n> {code.replace(chr(10), ' ')}\n> ```\n",
        "nested list": f"- {line}\n  - {line}\n    1. {line}\n",
        "setext heading": f"{line}\n---\n",
        "reference": f'[ref]: /url "{line}"\n',
        "blank with spaces": "   \n",
    }[kind]


BLOCK = st.builds(
    _block,
    st.sampled_from(
        [
            "para",
            "heading",
            "list",
            "loose list",
            "quote",
            "rule",
            "fence",
            "tilde fence",
            "indented",
            "fence in list",
            "fence in quote",
            "nested list",
            "setext heading",
            "reference",
            "blank with spaces",
        ]
    ),
    LINE,
    CODE,
    st.sampled_from(["", "python", "js", "nolang"]),
)


@settings(max_examples=int(os.environ.get("CMARK_EXAMPLES", 300)), deadline=None)
@given(
    blocks=st.lists(BLOCK, max_size=6),
    code_language=st.sampled_from([None, "python", "nolang"]),
    figure=st.sampled_from([None, FIGURE]),
)
def test_any_mix_of_blocks_renders_as_markdown_it_rendered_it(blocks, code_language, figure):
    body = "\n".join(blocks)
    assert rendering.render_body(body, code_language=code_language, figure_image=figure) == by_markdown_it(
        body, code_language, figure
    )
