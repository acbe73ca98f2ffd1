"""The edges: caches in front of the app servers (Varnish, a CDN), purged by the app's own cache tags.

Every cached page carries its tags twice: `Surrogate-Key` (space-separated; read
by Varnish's xkey through deploy/varnish/alphanode.vcl and by Fastly) and
`Cache-Tag` (comma-separated; read by Cloudflare). After the app purges its own
store, purge.py hands the same tags to `purge_edges`, which sends them to every
edge in EDGE_PURGE_URLS. An edge is anything with the two methods of `Edge`;
Varnish is implemented here, the CDN calls are in docs/page-cache.md.
"""

import http.client
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger("alphanode.pagecache")

# Varnish refuses request headers beyond ~8 KB by default: send long tag lists in parts.
TAGS_PER_REQUEST_CHARS = 4000


class EdgeError(Exception):
    """An edge did not confirm a purge (unreachable, refused, or an error status)."""


class Edge(Protocol):
    url: str

    def purge(self, tags: list[str], *, soft: bool) -> int:
        """Remove (or with soft, expire) every page carrying any of the tags; return how many objects."""

    def purge_all(self) -> None:
        """Remove every page."""


class VarnishEdge:
    """One varnishd running deploy/varnish/alphanode.vcl: PURGE with an xkey header, or a ban of everything."""

    def __init__(self, url: str, *, timeout: float = 2.0):
        self.url = url
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path or "/"
        self.timeout = timeout

    def purge(self, tags: list[str], *, soft: bool) -> int:
        header = "xkey-softpurge" if soft else "xkey-purge"
        return sum(self._send({header: " ".join(part)}) for part in _parts(tags))

    def purge_all(self) -> None:
        self._send({"X-Purge-All": "yes"})

    def _send(self, headers: dict) -> int:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("PURGE", self.path, headers=headers)
            response = connection.getresponse()
            response.read()
        except OSError as error:
            raise EdgeError(f"{self.url}: {error}") from error
        finally:
            connection.close()
        if response.status != 200:
            raise EdgeError(f"{self.url}: {response.status} {response.reason}")
        # The VCL answers "Purged <n>" with the number of objects xkey hit.
        count = response.reason.removeprefix("Purged ").strip()
        return int(count) if count.isdigit() else 0


def _parts(tags: list[str]) -> list[list[str]]:
    parts, current, size = [], [], 0
    for tag in tags:
        if current and size + len(tag) + 1 > TAGS_PER_REQUEST_CHARS:
            parts.append(current)
            current, size = [], 0
        current.append(tag)
        size += len(tag) + 1
    return [*parts, current] if current else parts


def configured_edges(urls: list[str] | None = None) -> list[Edge]:
    """The edges in settings.EDGE_PURGE_URLS (or only these of them)."""
    wanted = settings.EDGE_PURGE_URLS if urls is None else urls
    return [VarnishEdge(url, timeout=settings.EDGE_TIMEOUT) for url in wanted]


@dataclass
class EdgePurge:
    """What one purge did at the edges: per edge, objects removed or the error; edges still to purge."""

    outcomes: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.pending

    def summary(self) -> str:
        return "\n".join(f"{url}: {outcome}" for url, outcome in self.outcomes.items())


def not_purged(reason: str) -> EdgePurge:
    """The edges were not tried (the app's store failed first): every configured edge stays pending."""
    urls = list(settings.EDGE_PURGE_URLS)
    return EdgePurge(outcomes=dict.fromkeys(urls, f"not tried: {reason}"), pending=urls)


def purge_edges(tags, *, everything: bool = False, urls: list[str] | None = None, attempts: int = 3) -> EdgePurge:
    """Purge the tags (or everything) at every configured edge, or only at `urls`. Never raises.

    Each edge is tried `attempts` times; the ones that still fail are returned in
    `pending` for the purge log, which retries them later. Tag purges are soft
    when EDGE_SOFT_PURGE is on: readers get the old page while one request refetches.
    """
    result = EdgePurge()
    tags = sorted(tags)
    if not everything and not tags:
        return result
    for edge in configured_edges(urls):
        for attempt in range(1, attempts + 1):
            try:
                if everything:
                    edge.purge_all()
                    result.outcomes[edge.url] = "everything"
                else:
                    count = edge.purge(tags, soft=settings.EDGE_SOFT_PURGE)
                    result.outcomes[edge.url] = f"{count} objects"
                break
            except EdgeError as failure:
                logger.error("edge purge failed (attempt %d of %d): %s", attempt, attempts, failure)
                if attempt == attempts:
                    result.outcomes[edge.url] = f"failed: {failure}"
                    result.pending.append(edge.url)
                    result.error = "\n".join(filter(None, [result.error, str(failure)]))
                else:
                    time.sleep(0.1 * 2**attempt)
    if settings.EDGE_PURGE_URLS and settings.EDGE_SETTLE_SECONDS > 0 and urls is None:
        _settle_later(tags, everything)
    return result


def _settle_later(tags: list[str], everything: bool) -> None:
    """Purge the same tags again shortly: a page an edge was fetching during the purge lands after it.

    The app's store refuses pages rendered before a purge, but an edge cannot
    tell; a fetch in flight when the purge arrived would otherwise keep the old
    page for its whole lifetime. The second pass is logged only when it fails.
    """

    def settle():
        outcome = purge_edges(tags, everything=everything, urls=list(settings.EDGE_PURGE_URLS), attempts=2)
        if not outcome.succeeded:
            logger.error("edge settle purge failed: %s", outcome.error)

    timer = threading.Timer(settings.EDGE_SETTLE_SECONDS, settle)
    timer.daemon = True
    timer.start()
