"""Production settings: check --deploy is clean, headers and cookies are safe, HTTPS behind a proxy."""

import json
import subprocess
import sys

from django.test import Client, override_settings
from dotenv import dotenv_values

from tests.conftest import ROOT, subprocess_env

PRODUCTION_EXAMPLE = ROOT / "docs" / "production.env.example"
STRONG_KEY = "x7Kq2-pL9vRt4Wm8Zc3Nb6Hy1Jd5Fg0Sa7Qe2Ru9Ti4Ow8Px3Ly6Mk1Vn5Bh0Cj"


def production_env(**overrides) -> dict:
    """The documented production settings, pointed at the test database and cache."""
    env = subprocess_env()
    for name in ("DEBUG", "HTTPS_ONLY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "TRUST_X_FORWARDED_PROTO"):
        env.pop(name, None)
    example = {key: value for key, value in dotenv_values(PRODUCTION_EXAMPLE).items() if value is not None}
    example.pop("DATABASE_URL")  # keep the test database
    example.pop("ALPHANODE_VAR_DIR")
    if not env.get("REDIS_URL"):
        example.pop("REDIS_URL")  # the SQLite run uses the file cache
    env.update(example)
    env.update(SECRET_KEY=STRONG_KEY, **overrides)
    return env


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_fails_when_https_settings_are_missing():
    """What scripts/deploy relies on to refuse a production machine set up for plain http."""
    env = production_env(HTTPS_ONLY="0", SECURE_HSTS_SECONDS="0")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


def test_production_settings_make_cookies_secure_and_http_only():
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({name: getattr(s, name) for name in ("
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY', "
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER')}))"
    )
    result = manage("shell", "--no-imports", "-c", code, env=production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 3600,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_local_settings_keep_plain_http_working(db):
    """`make run` and the tests serve plain http: no redirect unless production asks for it."""
    response = Client().get("/health", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def test_responses_carry_a_content_security_policy_without_inline_script(db):
    response = Client().get("/admin/login/", HTTP_HOST="localhost")
    directives = (part.partition(" ") for part in response.headers["Content-Security-Policy"].split("; "))
    policy = {name: value for name, _, value in directives}
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_HSTS_SECONDS=3600,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
)
def test_behind_a_tls_proxy_http_redirects_and_https_gets_hsts(db):
    client = Client()
    plain = client.get("/admin/login/", HTTP_HOST="localhost")
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://localhost/admin/login/"
    secure = client.get("/admin/login/", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    # Load balancers probe /health over plain http.
    assert client.get("/health", HTTP_HOST="localhost").status_code == 200


def test_settings_refuse_to_start_without_site_url_outside_debug():
    result = manage("check", env=production_env(SITE_URL=""))
    assert result.returncode != 0
    assert "ImproperlyConfigured: SITE_URL is not set" in result.stderr


def test_debug_runs_fall_back_to_a_local_site_url():
    code = "from django.conf import settings; print(settings.SITE_URL)"
    result = manage("shell", "--no-imports", "-c", code, env=production_env(SITE_URL="", DEBUG="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "http://127.0.0.1:8000"
