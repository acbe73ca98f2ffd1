"""Every reader page type passes the Nu HTML checker (npm vnu-jar, run with Debian's Java) with zero errors.

The pages are rendered in-process (test client) and checked in one run of the
checker, so the JVM starts once. `make deps-html` installs Java and the checker.
"""

import json
import shutil
import subprocess

import pytest
from django.template.loader import render_to_string

from posts.models import Entity
from tests.conftest import ROOT
from tests.factories import make_draft, make_post, make_posts

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def nu_errors(pages: dict[str, bytes], directory) -> dict[str, list[str]]:
    """The checker's errors per page name (warnings and info messages are not errors)."""
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        pytest.fail("the Nu HTML checker is missing: run `make deps-html` (Java and npm vnu-jar)")
    names = {}
    for number, (name, html) in enumerate(pages.items()):
        path = directory / f"page-{number}.html"
        path.write_bytes(html)
        names[path.name] = name
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *sorted(map(str, directory.iterdir()))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = {}
    for message in json.loads(result.stderr)["messages"]:
        if message["type"] == "error" or message.get("subType") == "fatal":
            name = names[message["url"].rsplit("/", 1)[-1]]
            errors.setdefault(name, []).append(f"line {message.get('lastLine')}: {message['message']}")
    return errors


# A page the checker must reject: proves that it runs and that its report is read.
CONTROL = (
    b'<!doctype html><html lang="en"><head><title>x</title></head>'
    b'<body><time datetime="2026-11-30T22:43:08.205873+00:00">x</time></body></html>'
)


def test_every_reader_page_type_has_zero_nu_checker_errors(client, django_user_model, tmp_path, settings):
    approved = make_post(1, flags={"needs_human_review": False})
    flagged = make_post(2, flags={"needs_human_review": True})
    make_posts(25, start=10, stack=["rust"], tools=["cargo"])
    draft = make_draft(3)
    entity = Entity.objects.filter(post_links__isnull=False).first()
    paths = {
        "home": "/",
        "home page 2": "/?page=2",
        "article (approved, with image)": approved.get_absolute_url(),
        "article (flagged: noindex)": flagged.get_absolute_url(),
        "stack page": "/stack/rust/",
        "tools page": "/tools/cargo/",
        "entity page": entity.get_absolute_url(),
        "topic page": f"/topics/{approved.topic_slug}/",
        "search": "/search/",
        "search with results": "/search/?q=python",
        "search without results": "/search/?q=zzzznothing",
        "search too long (400)": "/search/?q=" + "x" * 300,
        "404": "/no/such/page/",
    }
    pages = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code in (200, 400, 404), (name, response.status_code)
        pages[name] = response.content
    pages["500"] = render_to_string("500.html").encode()
    client.force_login(django_user_model.objects.create_user("editor", is_staff=True))
    pages["draft seen by staff"] = client.get(draft.get_absolute_url()).content

    pages["control"] = CONTROL
    errors = nu_errors(pages, tmp_path)
    assert "A fraction of a second must be one, two, or three digits" in " ".join(errors.pop("control"))
    assert errors == {}, json.dumps(errors, indent=2)
