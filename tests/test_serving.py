"""Serving through gunicorn with production storage: static files, JSON request logs, shared metrics."""

import json
import threading
import time

import pytest

from alphanode.ops import timings
from alphanode.ops.models import RequestTiming
from tests.conftest import subprocess_env
from tests.gunicorn_server import start_gunicorn

TOKEN = "serving-test-token"
# The servers' own flush interval, read before conftest raises it for in-process requests.
SERVER_FLUSH_SECONDS = timings.FLUSH_SECONDS


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_setup, django_db_blocker, collected_static):
    static_root = collected_static
    env = subprocess_env(STATIC_ROOT=str(static_root), METRICS_TOKEN=TOKEN, ALLOWED_HOSTS="127.0.0.1,localhost")
    running = start_gunicorn(env, tmp_path_factory.mktemp("log") / "gunicorn.log", workers=2)
    running.static_root = static_root
    yield running
    running.stop()


def hashed_name(static_root, name: str) -> str:
    return json.loads((static_root / "staticfiles.json").read_text())["paths"][name]


def request_lines(server) -> list[dict]:
    lines = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "request":
                lines.append(entry)
    return lines


def test_hashed_static_files_are_compressed_and_cached_for_ten_years(server):
    path = "/static/" + hashed_name(server.static_root, "ops/monitoring.css")
    assert path != "/static/ops/monitoring.css"
    status, headers, body = server.get(path, {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["cache-control"] == "max-age=315360000, public, immutable"
    assert "Accept-Encoding" in headers["vary"]
    assert body[:2] == b"\x1f\x8b"


def test_unhashed_static_names_are_cached_briefly(server):
    status, headers, _ = server.get("/static/ops/monitoring.css")
    assert status == 200
    assert headers["cache-control"] == "max-age=60, public"


def test_each_request_is_one_json_line_on_stdout_with_its_route(server):
    server.get("/health")
    server.get("/no/such/page")
    time.sleep(0.2)
    routes = {(entry["route"], entry["status"]) for entry in request_lines(server)}
    assert ("/health", 200) in routes
    assert ("<unmatched>", 404) in routes


def burst(server, threads: int = 8, each: int = 10) -> None:
    """Concurrent requests, so that both sync workers serve some."""

    def hit():
        for _ in range(each):
            assert server.get("/health")[0] == 200

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def health_count(server) -> float:
    status, _, body = server.get("/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith('alphanode_requests_total{cache="BYPASS",method="GET",route="/health",status="200"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_add_up_every_worker(server):
    before = health_count(server)
    burst(server)
    pids = {entry["pid"] for entry in request_lines(server) if entry["route"] == "/health"}
    assert len(pids) == 2, "both workers should have served the burst"
    assert health_count(server) - before == 80


def test_metrics_are_not_public(server):
    assert server.get("/metrics")[0] == 404
    assert server.get("/metrics", {"Authorization": "Bearer nope"})[0] == 404


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_request_timings_from_every_worker_reach_the_database(server):
    burst(server)
    time.sleep(SERVER_FLUSH_SECONDS + 0.5)
    burst(server, each=2)  # a request after the interval makes each worker flush
    time.sleep(0.5)
    rows = RequestTiming.objects.filter(route="/health")
    assert len({row.worker for row in rows}) >= 2
    assert sum(row.count for row in rows) >= 80


def test_cached_pages_are_sent_compressed_with_a_length_not_chunked(server):
    server.get("/")
    for encoding, magic in (("gzip", b"\x1f\x8b"), ("br", None)):
        status, headers, body = server.get("/", {"Accept-Encoding": encoding})
        assert status == 200
        assert headers["x-cache"] == "HIT"
        assert headers["content-encoding"] == encoding
        assert headers["content-length"] == str(len(body))
        assert "transfer-encoding" not in headers
        assert "Accept-Encoding" in headers["vary"]
        if magic:
            assert body.startswith(magic)


def test_icons_are_served(server):
    status, headers, body = server.get("/favicon.ico")
    assert status == 200
    assert headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert body[:4] == b"\x00\x00\x01\x00"
    status, headers, body = server.get("/static/" + hashed_name(server.static_root, "icons/apple-touch-icon.png"))
    assert (status, body[:8]) == (200, b"\x89PNG\r\n\x1a\n")
    status, headers, body = server.get("/static/" + hashed_name(server.static_root, "icons/icon.svg"))
    assert status == 200
    assert b"<svg" in body


def test_a_very_long_search_gets_the_sites_own_page_not_gunicorns(server):
    query = "%C3%A9" * 1200  # 7,200 bytes: past gunicorn's default request-line limit
    status, headers, body = server.get(f"/search/?q={query}")
    assert status == 400
    assert headers["content-type"].startswith("text/html")
    assert b"searches can be at most 200" in body
    assert b'class="site-header"' in body
