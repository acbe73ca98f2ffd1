"""The common case of rendering a body, in C: cmark-gfm's CommonMark, where its HTML shows the structure.

markdown-it-py (rendering.py) spends ~0.4 ms parsing and rendering a typical
post body in Python, about half of an import worker's time per record;
cmark-gfm (the cmarkgfm package, GitHub's C implementation, which PyPI renders
READMEs with) writes the same HTML in ~0.02 ms. The same byte for byte on the
generated corpus (tests/test_cmark_html.py holds it to that); on the CommonMark
spec's 652 examples the two differ on 11, where they follow different versions
of the spec (cmark-gfm 0.29, markdown-it-py 0.31.2): docs/performance.md says
which.

What rendering.py adds to plain CommonMark (highlighted fences, the figure
after the first top-level paragraph) needs the document's structure, which
cmarkgfm gives only as HTML. That HTML stands for the structure when the body
has no raw HTML: then every tag in it is cmark's own, and text, code and
attribute values are escaped. So `body_parts` answers only for such bodies,
and only where nothing else tells the two renderers apart (below); for any
other body it returns None and rendering.py uses markdown-it-py.
"""

import ctypes
import re
from dataclasses import dataclass

from cmarkgfm import _cmark
from cmarkgfm.cmark import Options

# With UNSAFE, raw HTML and javascript:/data: links pass as written; without, cmark writes a
# comment or an empty URL in their place. The two renderings are equal only when a body has none.
_RAW_HTML_KEPT = Options.CMARK_OPT_UNSAFE
_RAW_HTML_REPLACED = Options.CMARK_OPT_DEFAULT

# Whitespace to Python's str.strip() and str.split() but not to cmark, which strips and splits at
# ASCII spaces and tabs only: markdown-it-py drops a paragraph's trailing no-break space, say.
UNICODE_SPACE = re.compile("[\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# A tab at the end of a line: markdown-it-py keeps it before a soft line break, cmark does not.
_TAB_AT_LINE_END = re.compile(r"\t[ \t]*(?:[\r\n]|$)")
# A fence's info string as markdown-it-py hands it to the fence renderer keeps its entities and
# backslash escapes (```js&#32;x is the language "js&#32;x"); cmark's class has them decoded ("js").
_ESCAPE_IN_INFO = re.compile(r"(?:```|~~~)[^\n]*[&\\]")
# An empty block quote: markdown-it-py writes no line break inside it.
_EMPTY_QUOTE = "<blockquote>\n</blockquote>"
_CODE_BLOCK = re.compile(r'<pre><code(?: class="language-([^"]*)")?>(.*?)</code></pre>\n', re.DOTALL)
_CONTAINER_OR_PARAGRAPH_END = re.compile(r"<(/?)(?:blockquote|ol|ul)\b|</p>\n")


# cmark allocates the HTML it returns with the C library's malloc and leaves freeing it to the caller.
_free = ctypes.CDLL(None).free
_free.argtypes = [ctypes.c_void_p]
_free.restype = None


def markdown_to_html(text: str, options: int) -> str:
    """cmarkgfm.markdown_to_html, and the buffer freed.

    cmarkgfm's own never frees it (theacodes/cmarkgfm#53, still so in
    2025.10.22): ~2.8 KB a body, which grew each import worker by ~300 MB over
    100,000 posts.
    """
    data = text.encode()
    result = _cmark.lib.cmark_markdown_to_html(data, len(data), options)
    try:
        return _cmark.ffi.string(result).decode()
    finally:
        _free(int(_cmark.ffi.cast("uintptr_t", result)))


@dataclass(frozen=True)
class CodeBlock:
    """A code block as markdown-it-py's fence renderer gets it: the code, and the fence's language or None."""

    content: str
    language: str | None


Part = list[str | CodeBlock]


def body_parts(body: str, *, code_language: str | None, split: bool) -> tuple[Part, Part] | None:
    """The body as HTML and code blocks, cut after the first top-level paragraph when `split`.

    Returns (head, tail), each a list of HTML and CodeBlock: tail is empty
    without `split`, head is empty when there is no top-level paragraph (as
    rendering.py cuts markdown-it-py's tokens); None when markdown-it-py must
    render the body.
    """
    if UNICODE_SPACE.search(body) or _TAB_AT_LINE_END.search(body) or _ESCAPE_IN_INFO.search(body):
        return None
    html = markdown_to_html(body, _RAW_HTML_KEPT)
    if html != markdown_to_html(body, _RAW_HTML_REPLACED) or _EMPTY_QUOTE in html:
        return None
    cut = _after_first_paragraph(html) if split else len(html)
    head, tail = _segments(html[:cut], code_language), _segments(html[cut:], code_language)
    if head is None or tail is None:
        return None
    return head, tail


def _segments(html: str, code_language: str | None) -> Part | None:
    if not html:
        return []
    segments, start = [], 0
    for block in _CODE_BLOCK.finditer(html):
        language = block.group(1)
        if language is None:
            # A fence without an info word and an indented block look the same here, and only
            # the fence takes the post's code language; with none, both render alike.
            if code_language:
                return None
        else:
            language = _unescaped(language)
        segments += [html[start : block.start()], CodeBlock(_unescaped(block.group(2)), language)]
        start = block.end()
    segments.append(html[start:])
    return segments


def _unescaped(text: str) -> str:
    # cmark escapes these four, and only these, in code and attribute values.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _after_first_paragraph(html: str) -> int:
    """The offset just after the first paragraph outside any list or block quote, or 0."""
    depth = 0
    for match in _CONTAINER_OR_PARAGRAPH_END.finditer(html):
        if match.group(0) != "</p>\n":
            depth += -1 if match.group(1) else 1
        elif depth == 0:
            return match.end()
    return 0
