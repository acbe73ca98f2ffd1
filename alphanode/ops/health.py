"""/health: is this process able to serve? Database, cache, migrations, and which release.

Each check is a plain function returning a `Check`. The view runs them all and
answers 200 when every one passed, 503 naming the ones that failed. Errors
are reported by exception class only: messages can carry host names and users.
"""

import functools
import os
import time
import uuid
from dataclasses import dataclass, field

import redis
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from alphanode.ops import releases
from alphanode.pagecache.purge import pending_failed


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked (what it depends on failed)
    ms: float = 0.0
    error: str = ""
    details: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        data = {"ok": self.ok, "ms": round(self.ms, 2)}
        if self.error:
            data["error"] = self.error
        data.update(self.details)
        return data


def check_database() -> Check:
    """Connect (or reuse the connection) and run one query."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return Check("database", False, _ms(started), f"unreachable ({type(error).__name__})")
    return Check("database", True, _ms(started))


def check_cache() -> Check:
    """Write a value to the shared cache and read it back."""
    started = time.perf_counter()
    key, token = f"health:{os.getpid()}", uuid.uuid4().hex
    try:
        cache.set(key, token, 30)
        read = cache.get(key)
    except (redis.RedisError, OSError) as error:
        return Check("cache", False, _ms(started), f"unreachable ({type(error).__name__})")
    if read != token:
        return Check("cache", False, _ms(started), "a value written was not read back")
    return Check("cache", True, _ms(started))


@functools.cache
def _migrations_on_disk() -> tuple[tuple[tuple[str, str], tuple[tuple[str, str], ...]], ...]:
    """(migration, what it replaces) for every migration in the code; read once per process."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return tuple((key, tuple(graph.nodes[key].replaces or ())) for key in sorted(graph.nodes))


def check_migrations() -> Check:
    """Every migration in this release's code is recorded as applied (one small query)."""
    started = time.perf_counter()
    try:
        applied = set(MigrationRecorder.Migration.objects.values_list("app", "name"))
    except DatabaseError as error:
        return Check("migrations", False, _ms(started), f"cannot read django_migrations ({type(error).__name__})")
    pending = [
        f"{app}.{name}"
        for (app, name), replaces in _migrations_on_disk()
        if (app, name) not in applied and not (replaces and all(tuple(key) in applied for key in replaces))
    ]
    if pending:
        return Check("migrations", False, _ms(started), "not applied", {"pending": pending})
    return Check("migrations", True, _ms(started))


def run_checks() -> list[Check]:
    database = check_database()
    if database.ok:
        migrations = check_migrations()
    else:
        migrations = Check("migrations", None, error="not checked: database unreachable")
    return [database, check_cache(), migrations]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@never_cache
def health_view(request):
    """JSON: ok, each check, the release; 200 when healthy, 503 naming what failed."""
    checks = run_checks()
    failed = [check.name for check in checks if check.ok is False]
    body = {
        "ok": not failed,
        "failed": failed,
        "checks": {check.name: check.as_json() for check in checks},
        "release": releases.current_release(),
        "pending_purges": _pending_purges(database_ok="database" not in failed),
    }
    return JsonResponse(body, status=503 if failed else 200)


def _pending_purges(*, database_ok: bool) -> int | None:
    """Failed purges waiting for their retry: shown, never failing the check.

    A purge fails when the page store is down; the cache check reports that.
    Pending purges mean some pages may be stale until the retry, which taking
    this server out of the load balancer would not fix.
    """
    if not database_ok:
        return None
    try:
        return pending_failed()
    except DatabaseError:
        return None
