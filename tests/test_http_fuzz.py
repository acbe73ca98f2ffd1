"""A raw-socket fuzzer against a real gunicorn: malformed requests on every route pattern, zero 5xx.

Loopback only, bounded in count and time. Requests are written byte by byte
(no HTTP library cleans them up): over-long request lines and headers, bad
percent-encoding, control characters and invalid UTF-8 in paths and query
strings, odd methods and headers, on every URL pattern of the site (the
admin's too, with its filters, as a logged-in staff user, and as nobody).
Every request must be answered, and never with a 5xx.
"""

import random
import socket
import time
from collections import Counter
from urllib.parse import quote

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.urls import URLPattern, URLResolver, get_resolver

from posts.models import Post
from tests.conftest import subprocess_env
from tests.factories import make_post, make_user
from tests.gunicorn_server import start_gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MAX_REQUESTS = 3000
MAX_SECONDS = 150

# Pieces that break decoders: bad or partial escapes, encoded control characters and
# separators, overlong and surrogate UTF-8, and raw bytes that are not UTF-8 at all.
ESCAPES = [
    "%", "%%", "%0", "%g0", "%ZZ", "%%30", "%00", "%01", "%0a", "%0d", "%0d%0a", "%09", "%1b", "%7f", "%20",
    "%2e%2e%2f", "%2F", "%5c", "%C3", "%C3%28", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%FF%FE", "%E2%80%A8",
    "%E2%80%AE", "%EF%BF%BE", "%F0%9F%92%A9", "%u0041", "&#0;", "+",
]  # fmt: skip
RAW = [b"\x00", b"\x01", b"\x1b", b"\x7f", b"\x80", b"\xc3\x28", b"\xed\xa0\x80", b"\xff", b"\xe2\x80\xa8", b"\t"]
WORDS = ["", "x", "-1", "0", "1", "2", "99999999999999999999999", "1e3", "NaN", "../..", "'", '"', "<s>", "c++", "名前"]


def _fill(route: str, values: dict) -> str:
    for name, value in values.items():
        route = route.replace(f"<slug:{name}>", value).replace(f"<path:{name}>", value)
        route = route.replace(f"<int:{name}>", value).replace(f"<{name}>", value).replace(f"<str:{name}>", value)
    return route


def route_patterns() -> list[str]:
    """Every URL pattern of the site as a route string (regex patterns of the admin as they read)."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            text = str(entry.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + text)
            elif isinstance(entry, URLPattern):
                found.append("/" + prefix + text)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def concrete(route: str, post: Post) -> str:
    """A pattern with real values for its arguments (regex groups of the admin included)."""
    values = {"slug": post.slug, "object_id": str(post.pk), "revision_id": "1", "id": "1", "section": "posts"}
    values.update({"app_label": "posts", "content_type_id": "1", "url": "posts/post/"})
    path = route
    for group in ("(?P<app_label>", "(?P<content_type_id>", "(?P<object_id>", "(?P<url>"):
        while group in path:
            start = path.index(group)
            end = path.index(")", start) + 1
            name = group[4:-1]
            path = path[:start] + values[name] + path[end:]
    return _fill(path, values)


def mutations(path: str, rng: random.Random) -> list[bytes]:
    """Request targets made from one real path: broken segments, broken queries, raw bytes."""
    segments = path.split("/")
    targets = []
    for _ in range(6):
        broken = list(segments)
        index = rng.randrange(1, max(len(broken) - 1, 2))
        broken[index] = broken[index] + rng.choice(ESCAPES) + rng.choice(WORDS).replace(" ", "%20")
        targets.append("/".join(broken).encode("utf-8"))
    for name in ("page", "q", "p", "o", "e", "minutes", "state__exact", "_to_field", "all"):
        value = rng.choice(ESCAPES) + quote(rng.choice(WORDS), safe="") + rng.choice(ESCAPES)
        targets.append(f"{path}?{name}={value}&{name}={rng.choice(WORDS)}".encode())
    targets.append(f"{path}?page=%00&q=%00&p=%00&minutes=%00".encode())  # NUL: PostgreSQL refuses it in text
    targets.append(path.encode() + b"?" + rng.choice(RAW) + b"=" + rng.choice(RAW))
    targets.append(path.encode() + rng.choice(RAW) + b"/")
    targets.append(path.encode() + b"?page=" + b"9" * rng.randrange(50, 2000))
    targets.append(path.encode() + b"?q=" + quote("x" * rng.randrange(100, 3000)).encode())
    return targets


ADMIN_FILTERS = {
    "/admin/posts/post/": ["state__exact", "difficulty__exact", "stack", "tool", "language", "flag", "reviewed", "q"],
    "/admin/posts/reviewqueue/": ["reason", "claim", "q", "stack"],
    "/admin/pagecache/purgelog/": ["succeeded__exact", "created_at__gte", "q"],
    "/admin/ops/importrun/": ["status__exact", "dry_run__exact"],
    "/admin/axes/accessattempt/": ["attempt_time__gte", "q"],
}


def admin_filter_targets(rng: random.Random) -> list[bytes]:
    targets = []
    for changelist, names in ADMIN_FILTERS.items():
        for name in [*names, "o", "p", "e", "all", "_to_field", "_popup", "_changelist_filters"]:
            for escape in ESCAPES:
                targets.append(f"{changelist}?{name}={escape}{quote(rng.choice(WORDS), safe='')}".encode())
            targets.append(f"{changelist}?{name}=".encode() + rng.choice(RAW))
    return targets


def request_bytes(method: bytes, target: bytes, headers: list[bytes]) -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def odd_requests(path: bytes) -> list[bytes]:
    """Whole requests that are wrong beyond their target: lengths, headers, methods, framing."""
    return [
        request_bytes(b"GET", b"/" + b"a" * 9000, []),
        request_bytes(b"GET", path, [b"X-Long: " + b"v" * 20000]),
        request_bytes(b"GET", path, [b"X-%d: 1" % number for number in range(150)]),
        request_bytes(b"GET", path, [b"Cookie: sessionid=" + b"\xff" * 40 + b"; csrftoken=\x00"]),
        request_bytes(b"GET", path, [b"Cookie: " + b"a=b; " * 2000]),
        request_bytes(b"GET", path, [b"If-None-Match: \x7f\xff", b"If-Modified-Since: yesterday"]),
        request_bytes(b"GET", path, [b"Accept-Encoding: \xff\xfe", b"Range: bytes=99999999999-"]),
        request_bytes(b"GET", path, [b"X-Forwarded-For: \x00", b"X-Forwarded-Host: evil.example"]),
        request_bytes(b"GET", path, [b"Bad Header: space in name"]),
        request_bytes(b"GET", path, [b"NoColon"]),
        request_bytes(b"HEAD", path, []),
        request_bytes(b"OPTIONS", path, []),
        request_bytes(b"FOO", path, []),
        request_bytes(b"G\x00T", path, []),
        request_bytes(b"POST", path, [b"Content-Length: 5"]) + b"x",
        request_bytes(b"POST", path, [b"Content-Length: -1"]),
        request_bytes(b"POST", path, [b"Content-Length: 99999999999999999999"]),
        request_bytes(b"POST", path, [b"Transfer-Encoding: chunked"]) + b"zz\r\n",
        request_bytes(b"POST", path, [b"Content-Type: multipart/form-data; boundary=", b"Content-Length: 4"]) + b"----",
        request_bytes(b"GET", path, [b"Host: \xff\xfe"]),
        b"GET " + path + b" HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET " + path + b"\r\n\r\n",
        b"\r\n\r\n",
    ]


def send(port: int, data: bytes, timeout: float = 15.0) -> int | None:
    """Write one raw request, read until the server closes; the status code, or None for no answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before reading everything: its answer is still to read
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if len(received) > 12 and b"\r\n" in received:
                    break
        except ConnectionResetError:
            pass
    status_line = received.split(b"\r\n", 1)[0].split(b" ")
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/"):
        return None
    return int(status_line[1])


def test_malformed_requests_on_every_route_never_get_a_5xx(tmp_path, collected_static):
    post = make_post(1, flags={}, stack=["python"], tools=["pytest"])
    make_post(2)
    staff = make_user("fuzz-staff", is_superuser=True)
    session = SessionStore()
    session["_auth_user_id"] = str(staff.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = staff.get_session_auth_hash()
    session.create()
    staff_cookie = b"Cookie: sessionid=" + session.session_key.encode()

    rng = random.Random(20261201)
    requests = []
    patterns = route_patterns()
    assert len(patterns) > 40
    for route in patterns:
        path = concrete(route, post)
        targets = mutations(path, rng)
        cookies = [[], [staff_cookie]] if path.startswith("/admin/") or path.startswith("/ops/") else [[]]
        for target in targets:
            for headers in cookies:
                requests.append(request_bytes(b"GET", target, headers))
        requests.extend(odd_requests(path.encode()))
    requests.extend(request_bytes(b"GET", target, [staff_cookie]) for target in admin_filter_targets(rng))
    rng.shuffle(requests)
    requests = requests[:MAX_REQUESTS]

    env = subprocess_env(STATIC_ROOT=str(collected_static), PAGECACHE_SECONDS="60")
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    statuses: Counter = Counter()
    failures = []
    started = time.monotonic()
    try:
        for data in requests:
            if time.monotonic() - started > MAX_SECONDS:
                break
            status = send(server.port, data)
            statuses[status] += 1
            if status is None or status >= 500:
                failures.append((status, data[:300]))
    finally:
        server.stop()
    served = sum(statuses.values())
    print(f"fuzz: {served} requests on {len(patterns)} route patterns in {time.monotonic() - started:.1f} s:")
    print("fuzz statuses:", dict(sorted(statuses.items(), key=lambda item: (item[0] is None, item[0] or 0))))
    assert served >= min(len(requests), 1500), f"only {served} requests within {MAX_SECONDS} s"
    assert not failures, failures[:20]
    # The server's own account agrees: no request line with a 5xx (tracebacks of 400s are Django's
    # security log of refused input, e.g. DisallowedModelAdminToField).
    errors = [line for line in server.log().splitlines() if '"status": 5' in line and '"event": "request"' in line]
    assert not errors, errors[:10]
