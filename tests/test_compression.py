"""Compressed pages: copies made once when stored, served as stored bytes, Vary and lengths right."""

import gzip

import brotli
import pytest

from alphanode.pagecache import compression
from alphanode.pagecache.cache import CachedPage, page_cache
from tests.factories import make_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("*, br;q=0", "gzip"),
        ("identity", None),
        ("gzip;q=0", None),
        ("", None),
        ("gzip;q=nonsense", None),
    ],
)
def test_choose_prefers_brotli_and_respects_refusals(header, expected):
    assert compression.choose(header, {"br": b"", "gzip": b""}) == expected


def test_small_or_binary_bodies_get_no_copies():
    assert compression.compress(b"x" * 100, "text/html") == {}
    assert compression.compress(b"x" * 1000, "image/png") == {}
    copies = compression.compress(b"<p>hello</p>" * 100, "text/html; charset=utf-8")
    assert brotli.decompress(copies["br"]) == gzip.decompress(copies["gzip"]) == b"<p>hello</p>" * 100


def test_a_stored_page_keeps_its_copies_through_encode_and_decode():
    body = b"<p>page</p>" * 50
    copies = compression.compress(body, "text/html")
    page = CachedPage(200, [("Content-Type", "text/html")], body, 1.0, '"e"', ["t"], expires=61.0, copies=copies)
    decoded = CachedPage.decode(page.encode())
    assert decoded == page
    assert CachedPage.decode(CachedPage(200, [], body, 1.0, '"e"', ["t"], expires=61.0).encode()).copies == {}


def _get(client, path, encoding=""):
    return client.get(path, HTTP_ACCEPT_ENCODING=encoding) if encoding else client.get(path)


def test_pages_are_compressed_once_when_stored_and_hits_send_the_stored_bytes(client, monkeypatch):
    post = make_post(1)
    calls = []
    original = compression.compress
    monkeypatch.setattr(compression, "compress", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    plain = _get(client, post.get_absolute_url())
    assert plain["X-Cache"] == "MISS"
    assert "Content-Encoding" not in plain
    responses = {encoding: _get(client, post.get_absolute_url(), encoding) for encoding in ("br", "gzip", "br, gzip")}
    assert len(calls) == 1  # on the miss only: every hit sends stored bytes
    assert brotli.decompress(responses["br"].content) == plain.content
    assert gzip.decompress(responses["gzip"].content) == plain.content
    assert responses["br, gzip"]["Content-Encoding"] == "br"
    for encoding, response in responses.items():
        assert response["X-Cache"] == "HIT"
        assert response["Content-Encoding"] == encoding.split(",")[0]
        assert response["Content-Length"] == str(len(response.content))
        assert "Accept-Encoding" in response["Vary"]
        assert response["ETag"] == f"W/{plain['ETag']}"
    identity = _get(client, post.get_absolute_url())
    assert identity["X-Cache"] == "HIT"
    assert identity.content == plain.content
    assert identity["Content-Length"] == str(len(plain.content))
    assert "Accept-Encoding" in identity["Vary"]

    stored = CachedPage.decode(page_cache().store.get(post.get_absolute_url()))
    assert set(stored.copies) == {"br", "gzip"}


def test_a_miss_sends_the_copy_it_stores(client):
    post = make_post(1)
    response = _get(client, post.get_absolute_url(), "gzip")
    assert response["X-Cache"] == "MISS"
    assert response["Content-Encoding"] == "gzip"
    assert b"<h1" in gzip.decompress(response.content)


def test_a_304_carries_the_same_vary_as_the_200(client):
    post = make_post(1)
    full = _get(client, post.get_absolute_url(), "br")
    assert full.status_code == 200
    for encoding in ("br", ""):
        extra = {"HTTP_ACCEPT_ENCODING": encoding} if encoding else {}
        revalidated = client.get(post.get_absolute_url(), HTTP_IF_NONE_MATCH=full["ETag"], **extra)
        assert revalidated.status_code == 304
        assert revalidated["Vary"] == full["Vary"]
        assert revalidated.content == b""


def test_feeds_are_compressed_too(client):
    make_post(1)
    for path in ("/feeds/rss/", "/feeds/atom/", "/stack/backend/rss/"):
        _get(client, path)
        response = _get(client, path, "br")
        assert response["X-Cache"] == "HIT"
        assert response["Content-Encoding"] == "br", path


def test_pages_the_cache_does_not_serve_are_compressed_per_response(client, page_cache_off):
    post = make_post(1)
    response = _get(client, post.get_absolute_url(), "gzip, br")
    assert response["X-Cache"] == "BYPASS"
    assert response["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response["Vary"]
    assert b"<h1" in brotli.decompress(response.content)
    assert response["Content-Length"] == str(len(response.content))
    assert "Content-Encoding" not in _get(client, post.get_absolute_url())
