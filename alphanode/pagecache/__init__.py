"""The full-page cache: pages stored by route in a shared store, purged by cache tag.

Only this app knows about cache keys, routes and stores. It never imports the
apps whose pages it caches (tests/test_architecture.py checks it): views say
what a page shows by tagging the request, and callers say what changed as tags.

    from alphanode.pagecache.tagging import tag_page
    tag_page(request, "post:42", "list:home")             # in a view
    from alphanode.pagecache.purge import purge
    purge(tags={"post:42"}, reason="edited", user=user)   # after a commit

Modules: `tagging` (tag_page, page_query, path tags), `cache` (keys, the stored form, the
shared store plus this process's copy), `stores` (Redis, SQLite), `middleware`
(serving and storing), `compression` (gzip and Brotli copies made once when a
page is stored; per-response compression for what the cache does not serve),
`purge` (purging, the purge log, retries), `models` (PurgeLog), `admin`, and
the `purge_cache` command.

Rules (docs/page-cache.md has the long form):
- Only anonymous GET/HEAD requests for tagged pages are stored, keyed by the
  path plus the query parameters its view declares (`tagging.page_query`);
  other parameters are dropped before the view runs, so they can neither bust
  nor poison the cache. Pages render for the canonical SITE_URL host whatever
  Host was sent. Every stored page also carries `path:<hash of the path>`;
  every tag is a header token of [A-Za-z0-9:._%-].
- A request carrying a session cookie (editors) bypasses the cache: live
  content, `Cache-Control: private, no-store`, and nothing is stored.
- Stored: 200 and 301 responses without cookies, at most PAGECACHE["MAX_ENTRIES"]
  pages (the oldest stored go first). 404s are public for a CDN but never
  stored. A page is kept PAGECACHE["STALE_SECONDS"] past its lifetime and
  served (X-Cache: STALE) only when rendering it fails.
- A view may cap a page's lifetime (`tagging.expire_page_at(request, when)`):
  the store, this process's copy and s-maxage/max-age end then, and such a page
  is never served stale past it.
- Each process keeps a small copy of recently served pages and trusts it while
  the shared purge generation is unchanged; it re-reads the generation at most
  every PAGECACHE["LOCAL_SECONDS"] (0.5 s), so another server's purge shows
  everywhere within that time without a round trip per request.
- Purges are recorded in PurgeLog, retried three times, and a purge that still
  fails is kept (succeeded=False) and retried by every worker after a response
  (at most every PAGECACHE["RETRY_SECONDS"]), by the next purge, or by
  `purge_cache --retry-failed`.
"""
