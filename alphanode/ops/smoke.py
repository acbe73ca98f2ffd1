"""The deploy's smoke test: does the running server answer as the new release?

It asks the server over HTTP, as a visitor would, for /health (until it
reports the expected release: gunicorn replaces its workers gradually) and for
one article. The article is the one settings.SMOKE_TEST_PATH finds (the
newest published post) unless a path is given; when it finds none, only
/health is checked, and the report says so. Going through a setting keeps ops
free of the content app (docs/architecture.md).
"""

import http.client
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string


class SmokeTestFailed(Exception):
    """The server did not answer as expected; the message says what was asked and what came back."""


@dataclass
class SmokeReport:
    release: str
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fetch(base_url: str, path: str, *, host: str = "", timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """GET one path; no redirects followed. Sends X-Forwarded-Proto: https, as the TLS proxy in front does."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host or parts.netloc, "X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def site_host() -> str:
    """The Host to ask for: the first ALLOWED_HOSTS name (production answers 400 for 127.0.0.1:8000)."""
    for host in settings.ALLOWED_HOSTS:
        if host != "*" and not host.startswith("."):
            return host
    return ""


def article_path() -> str | None:
    """The page to fetch besides /health: SMOKE_TEST_PATH names the function that finds it (None: no page)."""
    return import_string(settings.SMOKE_TEST_PATH)()


def wait_for_release(base_url: str, release: str, *, host: str = "", timeout: float = 60.0) -> dict:
    """Poll /health until it answers 200 for `release`; returns its JSON."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            status, _, body = fetch(base_url, "/health", host=host)
            answer = json.loads(body) if body.startswith(b"{") else {}
            seen = answer.get("release", {}).get("id")
            if status == 200 and seen == release:
                return answer
            last = f"status {status}, release {seen!r}, failed checks {answer.get('failed')}"
        except (OSError, http.client.HTTPException) as error:
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() >= deadline:
            raise SmokeTestFailed(
                f"/health did not report release {release!r} with status 200 in {timeout:.0f} s; last: {last}"
            )
        time.sleep(0.25)


def smoke_test(
    base_url: str, release: str, *, path: str | None = None, host: str = "", timeout: float = 60.0
) -> SmokeReport:
    """Check /health reports `release` and an article answers 200; raises SmokeTestFailed."""
    report = SmokeReport(release)
    wait_for_release(base_url, release, host=host, timeout=timeout)
    report.checked.append(f"/health: 200, release {release}")
    if path is None:
        path = article_path()
        if path is None:
            report.notes.append(f"no article checked: {settings.SMOKE_TEST_PATH} found no page to fetch")
            return report
    status, headers, body = fetch(base_url, path, host=host)
    if status != 200 or not body:
        raise SmokeTestFailed(f"GET {path} answered {status} ({len(body)} bytes), expected 200 with a page")
    report.checked.append(f"{path}: 200, {len(body)} bytes, X-Cache {headers.get('X-Cache', '-')}")
    return report
