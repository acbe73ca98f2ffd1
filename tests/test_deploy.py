"""The deploy, rehearsed: release A, then B under load with zero failed requests, a broken C rolled back
automatically, and scripts/rollback back to A. Real scripts, a real gunicorn, the test database."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from dotenv import dotenv_values

from alphanode.ops import smoke
from alphanode.ops.models import Deployment
from tests.conftest import ROOT, database_url
from tests.factories import make_post
from tests.gunicorn_server import free_port, get, process_alive
from tests.test_security import PRODUCTION_EXAMPLE, STRONG_KEY

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VENV = Path(sys.executable).parent.parent
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".env",
    "var",
    "staticfiles",
    "test-artifacts",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
)


@dataclass
class Site:
    root: Path
    port: int
    env: dict

    def run(self, script: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ROOT / "scripts" / script), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def health(self) -> dict:
        status, _, body = get(self.port, "/health")
        assert status == 200, body
        return json.loads(body)

    def link(self, name: str) -> str:
        return os.readlink(self.root / name)

    def master_pid(self) -> int:
        return int((self.root / "shared" / "gunicorn.pid").read_text())


def shared_settings(root: Path, port: int) -> str:
    """The machine's shared/.env: the documented production settings, on the test database and cache."""
    values = {key: value for key, value in dotenv_values(PRODUCTION_EXAMPLE).items() if value is not None}
    values.update(
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(),
        ALPHANODE_VAR_DIR=str(root / "shared" / "var"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        # Required with DEBUG off; the rehearsal's absolute links point at its own server.
        SITE_URL=f"http://127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        CACHE_KEY_PREFIX=settings.CACHES["default"]["KEY_PREFIX"],
    )
    if os.environ.get("REDIS_URL"):
        values["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        values.pop("REDIS_URL")
        values["ALPHANODE_CACHE_DIR"] = str(settings.CACHES["default"]["LOCATION"])
    return "".join(f"{key}={value}\n" for key, value in values.items())


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "shared").mkdir(parents=True)
    port = free_port()
    (root / "shared" / ".env").write_text(shared_settings(root, port))
    # Only what a machine's deploy user has: the settings come from shared/.env.
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DEPLOY_ROOT": str(root),
        "DEPLOY_VENV": str(VENV),
        "SMOKE_TIMEOUT": "15",
    }
    yield Site(root, port, env)
    pidfile = root / "shared" / "gunicorn.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text())
        if process_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)


@dataclass
class Load:
    """Threads sending requests back to back, each on a new connection, until stopped."""

    port: int
    article: str | None = None
    threads: int = 4
    sent: int = 0
    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)
    releases: set[str] = field(default_factory=set)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._send) for _ in range(self.threads)]

    def _send(self):
        paths = [("/health", {}), ("/admin/login/", {"X-Forwarded-Proto": "https"})]
        if self.article:
            paths.append((self.article, {"X-Forwarded-Proto": "https"}))
        turn = 0
        while not self._stop.is_set():
            path, headers = paths[turn % len(paths)]
            turn += 1
            started = time.monotonic()
            try:
                status, _, body = get(self.port, path, headers, timeout=30)
                failure = None if status == 200 else f"{path}: status {status}"
                release = json.loads(body)["release"]["id"] if path == "/health" and status == 200 else None
            except OSError as error:
                failure, release = f"{path}: {type(error).__name__}: {error}", None
            with self._lock:
                self.sent += 1
                self.slowest = max(self.slowest, time.monotonic() - started)
                if failure:
                    self.failures.append(failure)
                if release:
                    self.releases.add(release)

    def __enter__(self):
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for worker in self._workers:
            worker.join()


def broken_copy(tmp_path: Path) -> Path:
    """The project with every URL removed: it passes check --deploy but fails the smoke test."""
    source = tmp_path / "broken-src"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE, symlinks=True)
    with (source / "alphanode" / "urls.py").open("a") as urls:
        urls.write("\nurlpatterns = []  # broken on purpose by tests/test_deploy.py\n")
    return source


def test_deploy_reload_under_load_automatic_rollback_and_rollback(site, tmp_path):
    make_post(1)
    # The smoke test and the load fetch it too, once the release has an article route (the reader site).
    article = smoke.article_path()

    # Release A: the first deploy also starts gunicorn from the stable path.
    first = site.run("deploy", "--from-dir", str(ROOT), "--release-id", "A")
    assert first.returncode == 0, first.stderr
    assert (
        "ok " + article
        if article
        else "note: no article checked: posts.smoke.newest_article_path found no page to fetch"
    ) in (first.stdout)
    assert site.health()["release"]["id"] == "A"
    assert site.link("current") == "releases/A"
    # A working tree's test tools (make test puts them in node_modules/) are not part of a release.
    if (ROOT / "node_modules").is_dir():
        assert not (site.root / "releases" / "A" / "node_modules").exists()
    master = site.master_pid()

    # Release B while traffic flows: HUP, new workers on B's code, no request lost.
    with Load(site.port, article) as load:
        time.sleep(1)
        second = site.run("deploy", "--from-dir", str(ROOT), "--release-id", "B")
        time.sleep(1)
    assert second.returncode == 0, second.stderr
    assert "reloading gunicorn" in second.stderr
    assert load.failures == []
    assert load.sent > 50
    # Requests that arrive while new workers boot wait in the listen queue; none waits long.
    assert load.slowest < 5, f"slowest request took {load.slowest:.2f} s"
    assert load.releases == {"A", "B"}  # served by both, in turn
    health = site.health()
    assert health["release"]["id"] == "B"  # read by B's code from B's directory: the new code runs
    assert health["release"]["deployed_at"]
    assert site.master_pid() == master  # reloaded, not restarted
    assert (site.link("current"), site.link("previous")) == ("releases/B", "releases/A")
    # The master's directory follows the symlink on reload (gunicorn.conf.py's chdir).
    assert os.readlink(f"/proc/{master}/cwd") == str(site.root / "releases" / "B")

    # Release C fails its smoke test: B comes back by itself, and the links are as before.
    third = site.run("deploy", "--from-dir", str(broken_copy(tmp_path)), "--release-id", "C")
    assert third.returncode == 1
    assert "smoke test failed: rolling back to B" in third.stderr
    assert site.health()["release"]["id"] == "B"
    assert (site.link("current"), site.link("previous")) == ("releases/B", "releases/A")

    # One command puts the previous release back.
    back = site.run("rollback")
    assert back.returncode == 0, back.stderr
    assert site.health()["release"]["id"] == "A"
    assert (site.link("current"), site.link("previous")) == ("releases/A", "releases/B")

    recorded = [(d.action, d.release, d.previous_release, d.outcome) for d in Deployment.objects.order_by("id")]
    assert recorded == [
        ("deploy", "A", "", "live"),
        ("deploy", "B", "A", "live"),
        ("deploy", "C", "B", "rolled-back"),
        ("rollback", "A", "B", "live"),
    ]
    log = [json.loads(line) for line in (site.root / "deploys.log").read_text().splitlines()]
    assert [entry["outcome"] for entry in log] == ["live", "live", "rolled-back", "live"]


def test_a_deploy_that_fails_its_checks_changes_nothing(site):
    assert site.run("deploy", "--from-dir", str(ROOT), "--release-id", "A").returncode == 0
    env_file = site.root / "shared" / ".env"
    env_file.write_text(env_file.read_text().replace("HTTPS_ONLY=1", "HTTPS_ONLY=0"))
    result = site.run("deploy", "--from-dir", str(ROOT), "--release-id", "B")
    assert result.returncode == 1
    assert "check --deploy reported problems" in result.stderr
    assert "security.W008" in result.stderr + result.stdout
    assert site.link("current") == "releases/A"
    assert site.health()["release"]["id"] == "A"
    failed = Deployment.objects.get(release="B")
    assert failed.outcome == "failed"


def test_rollback_with_nothing_to_go_back_to_says_so(site):
    assert site.run("deploy", "--from-dir", str(ROOT), "--release-id", "A").returncode == 0
    result = site.run("rollback")
    assert result.returncode == 1
    assert "no previous release recorded" in result.stderr
    assert site.health()["release"]["id"] == "A"


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Deploy Test", "-c", "user.email=deploy@example.org", "-C", str(repo), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def test_deploys_from_git_commits_record_what_changed_and_keep_few_releases(site, tmp_path):
    """The machine's usual path: `scripts/deploy --ref` archives a commit of the script's own repository."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORE, symlinks=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "First version")
    site.env["DEPLOY_KEEP"] = "1"

    def deploy(release: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(repo / "scripts" / "deploy"), "--ref", "HEAD", "--release-id", release],
            cwd=repo,
            env=site.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert deploy("one").returncode == 0
    for release, subject in (("two", "Second version"), ("three", "Third version")):
        (repo / "CHANGES.txt").write_text(subject)
        git(repo, "add", "CHANGES.txt")
        git(repo, "commit", "-q", "-m", subject)
        result = deploy(release)
        assert result.returncode == 0, result.stderr
        assert site.health()["release"]["id"] == release

    three = Deployment.objects.get(release="three")
    assert three.commit == git(repo, "rev-parse", "HEAD")
    assert three.changes.endswith("Third version")
    assert "Second version" not in three.changes
    assert (site.root / "releases" / "three" / "CHANGES.txt").read_text() == "Third version"
    # DEPLOY_KEEP=1, but the previous release always stays for a rollback.
    assert sorted(path.name for path in (site.root / "releases").iterdir()) == ["three", "two"]
