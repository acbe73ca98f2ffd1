"""The full-page cache: pages stored by route in a shared store, purged by cache tag.

Only this app knows about cache keys, routes and stores. It never imports the
apps whose pages it caches (tests/test_architecture.py checks it): views say
what a page shows by tagging the request, and callers say what changed as tags.

    from alphanode.pagecache.tagging import tag_page
    tag_page(request, "post:42", "list:home")             # in a view
    from alphanode.pagecache.purge import purge
    purge(tags={"post:42"}, reason="edited", user=user)   # after a commit

Modules: `tagging` (tag_page, path tags), `cache` (keys, the stored form, the
shared store plus this process's copy), `stores` (Redis, SQLite), `middleware`
(serving and storing), `compression` (gzip and Brotli copies made once when a
page is stored; per-response compression for what the cache does not serve),
`purge` (purging, the purge log, retries), `models` (PurgeLog), `admin`, and
the `purge_cache` command.

Rules (docs/page-cache.md has the long form):
- Only anonymous GET/HEAD requests for tagged pages are stored, keyed by the
  path plus the allowlisted query parameters (`page`, `q`, `p`); other
  parameters are dropped before the view runs, so they can neither bust nor
  poison the cache. Pages render for the canonical SITE_URL host whatever
  Host was sent. Every stored page also carries `path:<path>`.
- A request carrying a session cookie (editors) bypasses the cache: live
  content, `Cache-Control: private, no-store`, and nothing is stored.
- Stored: 200, 301 and 404 responses without cookies. Not stored: anything else.
- Each process keeps a small copy of recently served pages and trusts it while
  the shared purge generation is unchanged; it re-reads the generation at most
  every PAGECACHE["LOCAL_SECONDS"] (0.5 s), so another server's purge shows
  everywhere within that time without a round trip per request.
- Purges are recorded in PurgeLog, retried three times, and a purge that still
  fails is kept (succeeded=False) and retried by the next purge or
  `purge_cache --retry-failed`.
"""
