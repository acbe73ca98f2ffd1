"""Rendering a post body: what an import's workers do now against markdown-it-py for every body.

    python bench/render_bench.py [--count 20000] [--seed 1]

Renders the bodies of N generated records twice in this process, with
`rendering.render_body` (cmark-gfm where posts/cmark_html.py answers,
markdown-it-py otherwise) and with markdown-it-py alone, as every body was
rendered before. Prints how many bodies cmark rendered, how many came out
different (must be 0: the generated corpus is the reference), ms of CPU per
body each way and their ratio. Fails (exit 1) when any body differs.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphanode.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import django

    django.setup()
    import msgspec

    from posts import cmark_html, generating, rendering

    records = [msgspec.json.decode(line) for line in generating.generate_lines(args.count, seed=args.seed)]
    jobs = [
        (record["body"], record["code_language"], record["image_sources"][0] if record["image_sources"] else None)
        for record in records
    ]

    def markdown_it_only(body, language, figure):
        head, tail = rendering._rendered_by_markdown_it(body, code_language=language, split=figure is not None)
        return head + (rendering.render_figure(figure) if figure else "") + tail

    def now(body, language, figure):
        return rendering.render_body(body, code_language=language, figure_image=figure)

    results, seconds = {}, {}
    # Highlighting is cached per (code, language) in each process: both ways start with it empty.
    for name, render in (("markdown-it-py", markdown_it_only), ("render_body", now)):
        rendering.highlight_code.cache_clear()
        started = time.process_time()
        results[name] = [render(*job) for job in jobs]
        seconds[name] = time.process_time() - started

    by_cmark = sum(
        cmark_html.body_parts(body, code_language=language, split=figure is not None) is not None
        for body, language, figure in jobs
    )
    different = sum(a != b for a, b in zip(results["markdown-it-py"], results["render_body"], strict=True))
    per_body = {name: value / len(jobs) * 1000 for name, value in seconds.items()}
    print(f"bodies: {len(jobs)} (seed {args.seed}); rendered by cmark: {by_cmark}; different: {different}")
    print(f"markdown-it-py for every body: {per_body['markdown-it-py']:.3f} ms of CPU a body")
    print(f"render_body:                   {per_body['render_body']:.3f} ms of CPU a body")
    print(f"ratio render_body / markdown-it-py: {per_body['render_body'] / per_body['markdown-it-py']:.2f}")
    if different:
        sys.exit(1)


if __name__ == "__main__":
    main()
