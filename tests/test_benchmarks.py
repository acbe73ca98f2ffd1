"""bench/run_all.py at 10,000 posts: every page renders (never the cache) with plans that read no large table whole."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="bench/run_all.py checks PostgreSQL query plans (EXPLAIN); SQLite has no comparable plan to hold",
)
def test_run_all_small_passes_its_checks():
    # About three minutes here: 10,000 posts generated and imported, 30 uncached requests per page.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "bench/run_all.py", "--small", "--requests", "30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "PASS" in result.stdout.splitlines()[-1]
    for page in ("article", "home page 1", "search, a common word", "sitemap index", "review queue", "post history"):
        assert page in result.stdout
