"""The admin and /ops/ work in Chromium under the Content-Security-Policy: scripts run, nothing is refused."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ROOT, subprocess_env
from tests.gunicorn_server import start_gunicorn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
# Collects every CSP violation the page reports, before any of its scripts run.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def server(tmp_path, collected_static):
    env = subprocess_env(STATIC_ROOT=str(collected_static), ALLOWED_HOSTS="127.0.0.1,localhost")
    running = start_gunicorn(env, tmp_path / "gunicorn.log", workers=1)
    yield running
    running.stop()


def test_admin_and_ops_pages_run_their_scripts_without_csp_violations(server):
    # Before Playwright starts: its event loop makes the ORM refuse to run.
    user_id = User.objects.create_superuser("editor", "editor@example.org", "a-long-test-password").pk
    base = f"http://127.0.0.1:{server.port}"
    violations, console_errors = [], []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))

        def visit(path: str) -> None:
            page.goto(base + path)
            violations.extend(page.evaluate("window.__cspViolations"))

        visit("/admin/login/")
        page.fill("#id_username", "editor")
        page.fill("#id_password", "a-long-test-password")
        page.click("input[type=submit]")
        page.wait_for_url(base + "/admin/")
        violations.extend(page.evaluate("window.__cspViolations"))

        visit(f"/admin/auth/user/{user_id}/change/")
        # SelectFilter2.js builds the two-box permission chooser: the admin's scripts ran.
        assert page.locator("#id_user_permissions_add_all").count() == 1
        visit("/admin/auth/user/")
        page.click("#action-toggle")  # actions.js checks every row
        assert page.locator("input.action-select:checked").count() == 1
        visit("/ops/")
        assert "Is it up?" in page.evaluate("document.body.innerText")
        page.screenshot(path=str(ARTIFACTS / "ops-monitoring.png"), full_page=True)
        browser.close()
    assert violations == []
    assert [error for error in console_errors if "Content Security Policy" in error] == []
