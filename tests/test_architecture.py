"""The rules between apps (docs/architecture.md), read from the code itself."""

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.same_on_every_backend

ROOT = Path(__file__).resolve().parent.parent

# app -> the packages of ours it must never import (at module level or inside a function).
FORBIDDEN = {
    "alphanode/pagecache": ("posts", "alphanode.ops"),
    "alphanode/ops": ("posts",),
}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            modules.add(str(node.args[0].value))
    return modules


def breaches(app: str) -> list[str]:
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[app]):
                found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_app_never_imports_the_apps_that_use_it(app):
    assert breaches(app) == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "sneaky.py"
    module.write_text("def f():\n    from posts.models import Post\n    import posts.views\n")
    assert imported_modules(module) == {"posts.models", "posts.views"}


def test_templates_of_pagecache_and_ops_name_no_posts_url():
    # A template can reach another app through {% url %} as surely as code through import.
    for app in FORBIDDEN:
        for path in (ROOT / app).rglob("*.html"):
            assert not re.search(r"{%\s*url\s+['\"]posts:", path.read_text()), path


# `Post.objects` and `.update(` on one line, or `.update(` opening the next line of the same statement.
POST_BULK_UPDATE = re.compile(r"Post\.objects\b[^\n]*(?:\.update\(|\n\s*\.update\()")


def test_only_the_write_path_updates_posts_in_bulk():
    """Every write to a post goes through services.py (or bulk.py, which it calls)."""
    offenders = []
    for path in sorted((ROOT / "posts").rglob("*.py")):
        if path.name in ("services.py", "bulk.py") or "migrations" in path.parts:
            continue
        if POST_BULK_UPDATE.search(path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_write_path_check_sees_an_update_on_the_next_line():
    assert POST_BULK_UPDATE.search("Post.objects.filter(pk=1).update(state='draft')")
    assert POST_BULK_UPDATE.search("Post.objects.filter(pk__in=ids)\n    .update(claimed_by=None)")
    assert not POST_BULK_UPDATE.search("Post.objects.filter(pk=1).first()\nrecord.update(extra)")
