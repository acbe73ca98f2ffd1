"""Stored-XSS payloads: each one, if it ever runs, sets window.__xss, calls alert or logs "__xss".

Built from base vectors (script tags, event handlers, javascript: URLs in mixed
case, with whitespace or entities, data: and SVG, Markdown link and image
forms, template syntax) times the contexts they try to break out of (an
attribute, a <title>, a <textarea>, a comment, a JSON string).
"""

RUN = "window.__xss=1"

VECTORS = [
    # script tags
    f"<script>{RUN}</script>",
    f"<SCRIPT>{RUN}</SCRIPT>",
    f"<ScRiPt >{RUN}</sCrIpT >",
    f"<script src=data:,{RUN}></script>",
    "<script>alert(1)</script>",
    "<script>console.log('__xss')</script>",
    f"<scr<script>ipt>{RUN}</scr</script>ipt>",
    f"<script/x>{RUN}</script>",
    f"<script\n>{RUN}</script\n>",
    f"</script><script>{RUN}</script>",
    # event handlers
    f"<img src=x onerror={RUN}>",
    f"<IMG SRC=x OnErRoR={RUN}>",
    f'<img src="x" onerror="{RUN}">',
    f"<img src=x onerror\n={RUN}>",
    f"<img/src=x/onerror={RUN}>",
    f"<svg onload={RUN}>",
    f"<svg/onload={RUN}>",
    f"<body onload={RUN}>",
    f"<details open ontoggle={RUN}>",
    f"<input autofocus onfocus={RUN}>",
    f"<select autofocus onfocus={RUN}></select>",
    f"<textarea autofocus onfocus={RUN}></textarea>",
    f"<video><source onerror={RUN}></video>",
    f"<audio src=x onerror={RUN}>",
    f"<iframe onload={RUN}></iframe>",
    f"<marquee onstart={RUN}>x</marquee>",
    f"<div onmouseover={RUN} style=position:fixed;inset:0>hover</div>",
    f"<a onmouseover={RUN}>hover</a>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=console.log('__xss')>",
    f"<style onload={RUN}></style>",
    f"<object data=javascript:{RUN}></object>",
    f"<embed src=javascript:{RUN}>",
    # javascript: URLs, mixed case, whitespace, entities
    f'<a href="javascript:{RUN}">link</a>',
    f'<a href="JaVaScRiPt:{RUN}">link</a>',
    f'<a href=" javascript:{RUN}">link</a>',
    f'<a href="java\tscript:{RUN}">link</a>',
    f'<a href="java&#x09;script:{RUN}">link</a>',
    f'<a href="&#106;avascript:{RUN}">link</a>',
    f'<a href="&#x6A;&#x61;&#x76;&#x61;script:{RUN}">link</a>',
    f'<a href="javascript&colon;{RUN}">link</a>',
    f'<a href="jav&#x0A;ascript:{RUN}">link</a>',
    f'<a href="&#1;javascript:{RUN}">link</a>',
    f'<a href="&#x20;javascript:{RUN}">link</a>',
    f'<a href="vbscript:{RUN}">link</a>',
    f'<iframe src="javascript:{RUN}"></iframe>',
    f'<form action="javascript:{RUN}"><button>go</button></form>',
    f'<button formaction="javascript:{RUN}">go</button>',
    f'<img src="javascript:{RUN}">',
    # data: and SVG
    f'<a href="data:text/html,<script>{RUN}</script>">data</a>',
    '<iframe src="data:text/html,<script>parent.__xss=1</script>"></iframe>',
    f"<img src=\"data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='{RUN}'/>\">",
    '<object data="data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg=="></object>',
    f"<svg><script>{RUN}</script></svg>",
    f'<svg><a xlink:href="javascript:{RUN}"><text y="20">svg link</text></a></svg>',
    f"<svg><animate onbegin={RUN} attributeName=x dur=1s>",
    f"<svg><set attributeName=onmouseover to={RUN}>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={RUN}></style></mglyph></table></mtext></math>",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    f'<meta http-equiv=refresh content="0;url=javascript:{RUN}">',
    f"<base href=javascript:{RUN}//>",
    f'<link rel=stylesheet href="javascript:{RUN}">',
    # Markdown link and image forms
    f"[md link](javascript:{RUN})",
    f"[md link](JaVaScRiPt:{RUN})",
    f"[md link]( javascript:{RUN} )",
    f"[md link](&#106;avascript:{RUN})",
    f"[md link](<javascript:{RUN}>)",
    f"![md image](javascript:{RUN})",
    f'![md image](x" onerror="{RUN})',
    f'[md link](https://example.org" onclick="{RUN})',
    f"<javascript:{RUN}>",
    f"[ref link][evil]\n\n[evil]: javascript:{RUN}",
    f"![ref image][evil-image]\n\n[evil-image]: javascript:{RUN}",
    f"[md link](data:text/html,<script>{RUN}</script>)",
    # template syntax (Django, Jinja, Angular, ERB, JS templates)
    "{{ 7*7 }}",
    f"{{{{ constructor.constructor('{RUN}')() }}}}",
    "{% debug %}",
    "{% load static %}{% csrf_token %}",
    "{{ request.META }}",
    "${alert(1)}",
    "#{alert(1)}",
    "<%= alert(1) %>",
    "{{'a'.constructor.prototype.charAt=[].join;$eval('x=1} } };" + RUN + ";//');}}",
]

# The contexts a payload tries to leave before its vector starts.
BREAKOUTS = ["", '">', "'>", "</title>", "</textarea>", "-->"]


def all_payloads() -> list[str]:
    return [f"{breakout}{vector}" for vector in VECTORS for breakout in BREAKOUTS]


def chunks(size: int) -> list[list[str]]:
    payloads = all_payloads()
    return [payloads[start : start + size] for start in range(0, len(payloads), size)]
