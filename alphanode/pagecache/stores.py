"""Where cached pages live: Redis when REDIS_URL is set, a SQLite file otherwise.

Both stores keep, for every cached page, its entry and its tags, an index
from tag to pages, and a purge generation: a counter bumped by every purge,
plus the generation at which each tag was last purged. Two rules make
purging exact and race-free:

- A purge removes exactly the pages whose *current* entry carries the tag
  (an old render's tags never purge a newer render).
- A page rendered from data read before a purge of one of its tags is not
  stored (`set` gets the generation read before rendering and refuses when a
  tag was purged since), so a slow render cannot put stale content back.

Both hold at most `max_entries` pages (PAGECACHE["MAX_ENTRIES"]): storing
one more evicts the pages stored longest ago (oldest first, a re-stored page
counts as new), with their tag index entries, in the same atomic step.

Every app server and worker process shares the store; processes keep no
state here except connections (opened per process, after fork).
"""

import os
import sqlite3
import threading
import time
from pathlib import Path

import redis

# How long a tag's purge generation is remembered: longer than any render
# (gunicorn's timeout), so an in-flight render always sees a purge that raced it.
PURGE_MEMORY_SECONDS = 600
ALL = "*"  # the tag every page implicitly carries: purged by "purge everything"


class StoreError(Exception):
    """The shared store could not be reached or used; the caller may retry later."""


class RedisStore:
    """Pages in Redis: one key per page, one set per tag, Lua scripts for atomic store and purge."""

    # ARGV: prefix, key, entry, ttl, since, max_entries, tags...; "order" ranks pages by store
    # sequence, so the oldest are evicted first (with their tag index entries).
    _STORE = """
    local prefix, key, entry, ttl, since = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
    local max_entries = tonumber(ARGV[6])
    for i = 7, #ARGV do
        local purged = redis.call('GET', prefix .. 'tp:' .. ARGV[i])
        if purged and tonumber(purged) > since then return 0 end
    end
    local purged_all = redis.call('GET', prefix .. 'tp:*')
    if purged_all and tonumber(purged_all) > since then return 0 end
    redis.call('SET', prefix .. 'page:' .. key, entry, 'EX', ttl)
    redis.call('DEL', prefix .. 'pt:' .. key)
    for i = 7, #ARGV do
        redis.call('SADD', prefix .. 'pt:' .. key, ARGV[i])
        redis.call('SADD', prefix .. 'tag:' .. ARGV[i], key)
        if redis.call('TTL', prefix .. 'tag:' .. ARGV[i]) < ttl then
            redis.call('EXPIRE', prefix .. 'tag:' .. ARGV[i], ttl)
        end
    end
    redis.call('EXPIRE', prefix .. 'pt:' .. key, ttl)
    redis.call('ZADD', prefix .. 'order', redis.call('INCR', prefix .. 'seq'), key)
    local over = redis.call('ZCARD', prefix .. 'order') - max_entries
    if over > 0 then
        local oldest = redis.call('ZPOPMIN', prefix .. 'order', over)
        for i = 1, #oldest, 2 do
            local old = oldest[i]
            for _, tag in ipairs(redis.call('SMEMBERS', prefix .. 'pt:' .. old)) do
                redis.call('SREM', prefix .. 'tag:' .. tag, old)
            end
            redis.call('DEL', prefix .. 'page:' .. old, prefix .. 'pt:' .. old)
        end
    end
    return 1
    """
    _PURGE = """
    local prefix, memory = ARGV[1], tonumber(ARGV[2])
    local generation = redis.call('INCR', prefix .. 'gen')
    local purged = {}
    for i = 3, #ARGV do
        local tag = ARGV[i]
        redis.call('SET', prefix .. 'tp:' .. tag, generation, 'EX', memory)
        for _, key in ipairs(redis.call('SMEMBERS', prefix .. 'tag:' .. tag)) do
            if redis.call('SISMEMBER', prefix .. 'pt:' .. key, tag) == 1 then
                redis.call('DEL', prefix .. 'page:' .. key, prefix .. 'pt:' .. key)
                redis.call('ZREM', prefix .. 'order', key)
                table.insert(purged, key)
            end
        end
        redis.call('DEL', prefix .. 'tag:' .. tag)
    end
    table.insert(purged, 1, generation)
    return purged
    """

    def __init__(self, url: str, prefix: str, *, max_entries: int):
        self.url = url
        self.prefix = f"{prefix}:pc:"
        self.max_entries = max_entries
        self._client = None
        self._pid = None

    @property
    def client(self) -> redis.Redis:
        # One client per process: a connection must never be shared across fork.
        if self._pid != os.getpid():
            self._client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            self._store = self._client.register_script(self._STORE)
            self._purge = self._client.register_script(self._PURGE)
            self._pid = os.getpid()
        return self._client

    def generation(self) -> int:
        try:
            return int(self.client.get(self.prefix + "gen") or 0)
        except redis.RedisError as error:
            raise StoreError(f"redis: {error}") from error

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(self.prefix + "page:" + key)
        except redis.RedisError as error:
            raise StoreError(f"redis: {error}") from error

    def set(self, key: str, entry: bytes, tags: list[str], ttl: int, since: int) -> bool:
        try:
            self.client  # noqa: B018 (opens the per-process client and scripts)
            return bool(self._store(args=[self.prefix, key, entry, ttl, since, self.max_entries, *tags]))
        except redis.RedisError as error:
            raise StoreError(f"redis: {error}") from error

    def purge(self, tags: list[str]) -> tuple[int, list[str]]:
        """Remove every page carrying one of `tags`; returns (new generation, purged keys)."""
        try:
            self.client  # noqa: B018
            generation, *keys = self._purge(args=[self.prefix, PURGE_MEMORY_SECONDS, *tags])
        except redis.RedisError as error:
            raise StoreError(f"redis: {error}") from error
        return int(generation), sorted({key.decode() for key in keys})

    def purge_all(self) -> tuple[int, int]:
        """Remove every page; returns (new generation, pages removed)."""
        try:
            generation = self.client.incr(self.prefix + "gen")
            self.client.set(self.prefix + "tp:" + ALL, generation, ex=PURGE_MEMORY_SECONDS)
            self.client.delete(self.prefix + "order")
            removed = 0
            for pattern in ("page:*", "pt:*", "tag:*"):
                batch = []
                for name in self.client.scan_iter(match=self.prefix + pattern, count=1000):
                    batch.append(name)
                    if len(batch) >= 1000:
                        removed += self._unlink(batch, pattern)
                        batch = []
                removed += self._unlink(batch, pattern)
        except redis.RedisError as error:
            raise StoreError(f"redis: {error}") from error
        return generation, removed

    def _unlink(self, names: list, pattern: str) -> int:
        if not names:
            return 0
        count = self.client.unlink(*names)
        return count if pattern == "page:*" else 0

    def count(self) -> int:
        try:
            return sum(1 for _ in self.client.scan_iter(match=self.prefix + "page:*", count=1000))
        except redis.RedisError as error:
            raise StoreError(f"redis: {error}") from error


class SqliteStore:
    """Pages in a SQLite file next to the site's data: shared by every process on the machine."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS page (key TEXT PRIMARY KEY, entry BLOB NOT NULL, expires REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS page_tag (tag TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tag, key)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS page_tag_key ON page_tag (key);
    CREATE TABLE IF NOT EXISTS tag_purge (tag TEXT PRIMARY KEY, generation INTEGER NOT NULL, at REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT OR IGNORE INTO counter (name, value) VALUES ('generation', 0);
    """
    # Expired pages and old purge generations are swept after this many stores.
    _SWEEP_EVERY = 500

    def __init__(self, path: str | Path, *, max_entries: int):
        self.path = Path(path)
        self.max_entries = max_entries
        self._local = threading.local()
        self._stores = 0

    @property
    def db(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(self._SCHEMA)
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def _run(self, work):
        try:
            return work(self.db)
        except sqlite3.Error as error:
            raise StoreError(f"sqlite page store {self.path}: {error}") from error

    def generation(self) -> int:
        return self._run(lambda db: db.execute("SELECT value FROM counter WHERE name = 'generation'").fetchone()[0])

    def get(self, key: str) -> bytes | None:
        def work(db):
            row = db.execute("SELECT entry FROM page WHERE key = ? AND expires > ?", (key, time.time())).fetchone()
            return row[0] if row else None

        return self._run(work)

    def set(self, key: str, entry: bytes, tags: list[str], ttl: int, since: int) -> bool:
        def work(db):
            with db:  # one write transaction: commits, or rolls back on an exception
                db.execute("BEGIN IMMEDIATE")
                marks = ",".join("?" * (len(tags) + 1))
                latest = db.execute(
                    f"SELECT max(generation) FROM tag_purge WHERE tag IN ({marks})", (*tags, ALL)
                ).fetchone()[0]
                if latest is not None and latest > since:
                    return False
                # REPLACE gives the row a new rowid: rowids rank pages by when they were stored.
                rowid = db.execute(
                    "INSERT OR REPLACE INTO page (key, entry, expires) VALUES (?, ?, ?)",
                    (key, entry, time.time() + ttl),
                ).lastrowid
                db.execute("DELETE FROM page_tag WHERE key = ?", (key,))
                db.executemany("INSERT INTO page_tag (tag, key) VALUES (?, ?)", [(tag, key) for tag in set(tags)])
                # At most max_entries rowids are above this one: one range probe when nothing is over.
                oldest_kept = rowid - self.max_entries
                db.execute("DELETE FROM page_tag WHERE key IN (SELECT key FROM page WHERE rowid <= ?)", (oldest_kept,))
                db.execute("DELETE FROM page WHERE rowid <= ?", (oldest_kept,))
            self._stores += 1
            if self._stores % self._SWEEP_EVERY == 0:
                self._sweep(db)
            return True

        return self._run(work)

    def _sweep(self, db) -> None:
        now = time.time()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM page_tag WHERE key IN (SELECT key FROM page WHERE expires <= ?)", (now,))
            db.execute("DELETE FROM page WHERE expires <= ?", (now,))
            db.execute("DELETE FROM tag_purge WHERE at < ?", (now - PURGE_MEMORY_SECONDS,))

    def purge(self, tags: list[str]) -> tuple[int, list[str]]:
        def work(db):
            with db:
                db.execute("BEGIN IMMEDIATE")
                generation = self._next_generation(db)
                now = time.time()
                db.executemany(
                    "INSERT OR REPLACE INTO tag_purge (tag, generation, at) VALUES (?, ?, ?)",
                    [(tag, generation, now) for tag in tags],
                )
                keys = set()
                for start in range(0, len(tags), 500):
                    chunk = tags[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    keys.update(row[0] for row in db.execute(f"SELECT key FROM page_tag WHERE tag IN ({marks})", chunk))
                keys = sorted(keys)
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    db.execute(f"DELETE FROM page WHERE key IN ({marks})", chunk)
                    db.execute(f"DELETE FROM page_tag WHERE key IN ({marks})", chunk)
            return generation, keys

        return self._run(work) if tags else (self.generation(), [])

    def purge_all(self) -> tuple[int, int]:
        def work(db):
            with db:
                db.execute("BEGIN IMMEDIATE")
                generation = self._next_generation(db)
                db.execute(
                    "INSERT OR REPLACE INTO tag_purge (tag, generation, at) VALUES (?, ?, ?)",
                    (ALL, generation, time.time()),
                )
                removed = db.execute("DELETE FROM page").rowcount
                db.execute("DELETE FROM page_tag")
            return generation, removed

        return self._run(work)

    @staticmethod
    def _next_generation(db) -> int:
        db.execute("UPDATE counter SET value = value + 1 WHERE name = 'generation'")
        return db.execute("SELECT value FROM counter WHERE name = 'generation'").fetchone()[0]

    def count(self) -> int:
        return self._run(
            lambda db: db.execute("SELECT count(*) FROM page WHERE expires > ?", (time.time(),)).fetchone()[0]
        )
