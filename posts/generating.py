"""Deterministic synthetic post records, like the sample, for load tests and demos.

Record i of seed S depends only on (S, i): the same seed always gives the
same bytes, and any slice of a run can be regenerated on its own.
"""

import datetime
import hashlib
import random
import re
from collections.abc import Iterator

import msgspec

# (stack, code language, stack tags, tools)
STACKS = [
    ("python services", "python", ["backend", "python"], ["fastapi", "pytest", "uvicorn", "ruff", "git", "logs"]),
    ("django sites", "python", ["backend", "python", "django"], ["django", "celery", "pytest", "postgresql", "redis"]),
    ("asyncio workers", "python", ["backend", "python"], ["asyncio.gather", "aiohttp", "pytest", "py-spy"]),
    ("go microservices", "go", ["backend", "go"], ["go test", "pprof", "docker", "grpc", "prometheus"]),
    ("rust command line tools", "rust", ["systems", "rust"], ["cargo", "clippy", "serde", "tokio"]),
    ("node.js apis", "javascript", ["backend", "javascript"], ["node.js", "express", "jest", "npm", "eslint"]),
    ("react frontends", "typescript", ["frontend", "typescript"], ["react", "vite", "vitest", "playwright"]),
    ("postgresql databases", "sql", ["data", "sql"], ["postgresql", "psql", "pgbench", "explain analyze"]),
    ("c++ systems code", "cpp", ["systems", "c++"], ["cmake", "gdb", "valgrind", "clang-tidy"]),
    ("java spring services", "java", ["backend", "java"], ["spring boot", "maven", "junit", "jvisualvm"]),
    ("kubernetes deployments", "yaml", ["operations", "kubernetes"], ["kubectl", "helm", "argo cd", "logs"]),
    ("bash automation", "bash", ["operations", "shell"], ["bash", "shellcheck", "make", "cron"]),
]
PROBLEMS = [
    "building safer deployment steps",
    "caching rendered pages",
    "reducing cold start latency",
    "debugging memory leaks",
    "designing idempotent imports",
    "tuning database indexes",
    "handling retries with backoff",
    "writing reliable migrations",
    "profiling slow endpoints",
    "rotating api credentials",
    "testing logged-in traffic",
    "measuring response time",
    "paginating large result sets",
    "streaming large files",
    "structuring feature flags",
]
SCENARIOS = [
    "for a content heavy programming website",
    "for a small saas team",
    "for an internal analytics platform",
    "for a high traffic news site",
    "for a developer tools startup",
    "for an open source project",
]
TITLES = [
    "building a safer workflow for {problem} with {stack}",
    "a practical guide to {problem} in {stack}",
    "{problem}: lessons from {stack}",
    "how we approached {problem} for {stack}",
    "notes on {problem} with {stack}",
    "what we learned {problem} in {stack}",
]
AREAS = ["backend", "frontend", "operations", "data", "security", "testing", "performance"]
SENTENCES = [
    "a reliable {stack} setup is less about clever code and more about repeatable habits.",
    "in this guide, we look at {problem} {scenario} and keep the steps focused on production work.",
    "developer experience also matters: if the setup requires five manual steps, put them in a command.",
    "treat staging as a rehearsal, not just a place to click around.",
    "keep the implementation boring on purpose; one predictable code path survives maintenance.",
    "when the feature touches user input, validate at the boundary and keep error messages specific.",
    "monitoring should answer simple questions quickly: is it up, is it slow, are jobs failing.",
    "cache rules should be written for people who will debug them later.",
    "for this {stack} case, keep the owner, expected result, and rollback note in the same place.",
    "measure before and after, and write the numbers next to the change.",
    "a small verified change beats a broad rewrite almost every time.",
    "document the bypass conditions and include examples of what should not happen.",
]
CHECKLIST = [
    "inspect cache headers",
    "test logged-in traffic",
    "purge only the affected route",
    "measure response time",
    "keep a rollback command ready",
    "write the runbook entry",
    "check the error budget",
    "review the migration plan",
]
CODE = {
    "python": (
        "def {name}(items):\n    results = []\n    for item in items:\n"
        "        results.append(item * {n})\n    return results\n"
    ),
    "go": (
        "func {camel}(items []int) []int {{\n\tout := make([]int, 0, len(items))\n"
        "\tfor _, v := range items {{\n\t\tout = append(out, v*{n})\n\t}}\n\treturn out\n}}\n"
    ),
    "rust": "fn {name}(items: &[i64]) -> Vec<i64> {{\n    items.iter().map(|v| v * {n}).collect()\n}}\n",
    "javascript": "export function {camel}(items) {{\n  return items.map((v) => v * {n});\n}}\n",
    "typescript": "export function {camel}(items: number[]): number[] {{\n  return items.map((v) => v * {n});\n}}\n",
    "sql": "SELECT id, title\nFROM posts\nWHERE score > {n}\nORDER BY published_at DESC\nLIMIT 20;\n",
    "cpp": (
        "std::vector<int> {name}(const std::vector<int>& items) {{\n    std::vector<int> out;\n"
        "    for (int v : items) out.push_back(v * {n});\n    return out;\n}}\n"
    ),
    "java": (
        "public static int[] {camel}(int[] items) {{\n"
        "    return java.util.Arrays.stream(items).map(v -> v * {n}).toArray();\n}}\n"
    ),
    "yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {dashed}\nspec:\n  replicas: {n}\n",
    "bash": '#!/usr/bin/env bash\nset -euo pipefail\nfor i in $(seq 1 {n}); do\n  echo "{name} $i"\ndone\n',
}


def _words(problem: str) -> dict:
    parts = problem.split()[:3]
    return {
        "name": "_".join(parts),
        "camel": parts[0] + "".join(part.title() for part in parts[1:]),
        "dashed": "-".join(parts),
    }


def generate_record(seed: int, index: int) -> dict:
    """Record `index` of the run with `seed`."""
    rng = random.Random(seed * 1_000_003 + index)
    stack, language, stack_tags, tools = rng.choice(STACKS)
    problem = rng.choice(PROBLEMS)
    scenario = rng.choice(SCENARIOS)
    title = rng.choice(TITLES).format(problem=problem, stack=stack)
    fill = {"stack": stack, "problem": problem, "scenario": scenario}

    def paragraph() -> str:
        return " ".join(sentence.format(**fill) for sentence in rng.sample(SENTENCES, rng.randint(2, 4)))

    checklist = rng.sample(CHECKLIST, rng.randint(3, 6))
    code = CODE[language].format(n=rng.randint(2, 99), **_words(problem))
    paragraphs = [paragraph() for _ in range(rng.randint(4, 8))]
    split = len(paragraphs) // 2
    body = (
        "\n\n".join(
            [
                paragraphs[0],
                "## the practical approach",
                *paragraphs[1:split],
                "## production checks",
                *paragraphs[split:],
                f"```{language}\n{code}```",
                "## implementation checklist",
                "\n".join(f"- {item}" for item in checklist),
                "## final notes",
                paragraph(),
            ]
        )
        + "\n"
    )
    image_count = rng.choice([0, 1, 1, 1, 2, 3])
    slug_text = "+".join(f"{problem} with {stack}".split())[:42]
    images = [
        {
            "source": "placehold.co",
            "url": f"https://placehold.co/1200x630/png?text={slug_text}",
            "caption": f"{problem} with {stack} visual reference {number}",
        }
        for number in range(1, image_count + 1)
    ]
    reviewed = datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randint(0, 6 * 365))
    record = {
        "title": title,
        "topic": f"{problem} / {stack}",
        "summary": f"this ai-style technical summary explains {problem} in {stack}, with emphasis on "
        f"{rng.choice(['measurement', 'safe defaults', 'rollback planning', 'clear ownership'])} "
        "and maintainable documentation.",
        "body": body,
        "ai_outline": {
            "context": scenario,
            "problem": problem,
            "stack": stack,
            "recommended_action": rng.choice(
                ["measure first, change carefully, document the result", "automate the manual steps", "add a rollback"]
            ),
        },
        "ai_brief": "the article is written like a careful ai generated engineering draft about "
        f"{problem}: it explains the reason for the change and lists operational checks.",
        "stack": [stack, *stack_tags],
        "tools": rng.sample(tools, rng.randint(2, len(tools))),
        "code_language": language,
        "difficulty": rng.choice(["beginner", "intermediate", "advanced"]),
        "reading_time": rng.randint(3, 25),
        "view_count": rng.randint(0, 2_000_000),
        "score": {name: rng.randint(0, 100) for name in ("quality", "freshness", "depth", "clarity")},
        "revision": {
            "status": rng.choice(["draft", "expanded", "reviewed"]),
            "version": f"1.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
            "last_reviewed": reviewed.isoformat(),
        },
        "reference": f"anp-ref-{seed}-{index:07d}",
        "hash": "",
        "flags": {
            "ai_generated_style": rng.random() < 0.5,
            "has_images": bool(images),
            "image_heavy": image_count >= 3,
            "needs_human_review": rng.random() < 1 / 3,
        },
        "checklist": checklist,
        "entities": [
            {"name": stack, "type": "stack"},
            {"name": rng.choice(AREAS), "type": "area"},
            {"name": problem, "type": "problem"},
        ],
        "image_sources": images,
        "payload": {
            "source_id": f"gen-{seed}-{index:07d}",
            "generator": "alphanode generate_posts",
            "paragraphs": len(paragraphs) + 1,
            "scenario": scenario,
            "seed": seed,
        },
        "notes": ["content is generated for import/load testing and should be reviewed before indexing"],
    }
    record["hash"] = hashlib.sha256(body.encode()).hexdigest()[:24]
    return record


# Generated posts are dated within these two years (before the sample, imported "now" by `make run`).
PUBLISHED_FROM = datetime.datetime(2024, 7, 1, tzinfo=datetime.UTC)
PUBLISHED_DAYS = 730
SOURCE_ID = re.compile(r"^gen-(\d+)-(\d+)$")


def publication_time(seed: int, index: int) -> datetime.datetime:
    """When record `index` of the run with `seed` was published: spread over two years, deterministic."""
    rng = random.Random(f"published-{seed}-{index}")
    return PUBLISHED_FROM + datetime.timedelta(seconds=rng.randrange(PUBLISHED_DAYS * 86400))


def publication_time_of(source_id: str) -> datetime.datetime | None:
    """The publication time of a generated record, from its source id (gen-<seed>-<index>); None for others."""
    match = SOURCE_ID.match(source_id)
    return publication_time(int(match.group(1)), int(match.group(2))) if match else None


def generate_lines(count: int, seed: int, start: int = 0) -> Iterator[bytes]:
    """`count` records as JSON lines (with newline), from record `start`."""
    for index in range(start, start + count):
        yield msgspec.json.encode(generate_record(seed, index)) + b"\n"
