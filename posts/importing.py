"""Import records in bulk: stream, validate, render, write in batches, report.

`import_records` is the entry point; `manage.py import_posts` is a thin
adapter around it. The pipeline:

  read (sources) -> validate + render (worker processes) -> batch -> write
  (services.posts_write, one transaction per batch) -> report

Every input record ends up stored or in the reject file, unchanged, with a
report line saying why (file:line, source_id, field, expected, found,
retryable). A failed batch is retried record by record, so one bad record
never costs its neighbours. Each batch commits on its own: after a crash,
running the same import again stores every record exactly once (records
already stored come back `unchanged`).
"""

import concurrent.futures
import contextlib
import datetime
import gc
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connections, transaction
from django.utils import timezone

from alphanode.ops import importruns
from alphanode.ops.models import ImportRun
from posts import bulk, records, schedule_field, services
from posts.models import ImageSource, Post, PostEntity, Revision, StackTag, ToolTag
from posts.records import RecordError
from posts.services import PreparedRecord, WriteResult
from posts.sources import RawRecord, SourceReadError, expand_paths, read_records

logger = logging.getLogger("alphanode.import")

DEFAULT_BATCH_SIZE = 1000
# Exit status of import_posts when the database stayed unreachable: sysexits' EX_TEMPFAIL.
EXIT_RETRY = 75
# Records per task sent to a worker process: large enough to amortize the
# pickling round trip, small enough to keep memory flat.
_CHUNK = 250


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    held: int = 0
    rejected: int = 0
    retryable: int = 0
    seconds: float = 0.0
    reject_path: Path | None = None
    errors_path: Path | None = None
    errors: list[RecordError] = field(default_factory=list)
    # Set when an input file broke mid-read: the run stopped there.
    failure: str = ""

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.held + self.rejected

    def summary(self) -> str:
        rate = self.total / self.seconds if self.seconds else 0.0
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"held {self.held}, rejected {self.rejected} in {self.seconds:.1f} s ({rate:.0f} records/s)"
        )


class DatabaseUnavailable(Exception):
    """The database stayed unreachable past the retry window; the run stopped and can be resumed."""

    def __init__(self, report: ImportReport, seconds: float, error: Exception):
        self.report = report
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        super().__init__(
            f"the database was unreachable for {seconds:.0f} s ({first_line}); the import stopped after "
            f"{report.total} records ({report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.rejected} rejected). Nothing was lost: run the same "
            "command again once the database is back to resume (stored records come back unchanged)."
        )


class RejectWriter:
    """Writes rejected input unchanged to one file and the reasons to another, opened on first use."""

    def __init__(self, path: Path):
        self.path = path
        self.errors_path = path.with_name(path.name + ".errors.jsonl")
        self._records = None
        self._errors = None

    def write(self, raw: bytes, error: RecordError) -> None:
        if self._records is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Opened on the first reject (most runs have none) and closed by close().
            self._records = open(self.path, "wb")  # noqa: SIM115
            self._errors = open(self.errors_path, "w", encoding="utf-8")  # noqa: SIM115
        self._records.write(raw.rstrip(b"\r\n") + b"\n")
        self._errors.write(json.dumps(error.as_dict(), ensure_ascii=False) + "\n")

    @property
    def used(self) -> bool:
        return self._records is not None

    def close(self, summary: str) -> None:
        if self._records is not None:
            self._errors.write(json.dumps({"summary": summary}) + "\n")
            self._records.close()
            self._errors.close()


def default_reject_path() -> Path:
    return Path(f"import-rejects-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")


def validate_raw(raw_record: RawRecord, *, keep_unknown: bool = False) -> PreparedRecord | RecordError:
    """Decode, validate and render one raw record; errors carry its location."""
    obj = None
    try:
        if raw_record.error:
            raise RecordError(field="(file)", expected="a JSON array of records", found=raw_record.error)
        obj = records.decode_record(raw_record.raw)
        obj, schedule = schedule_field.split_schedule(obj)
        canonical = records.validate(obj, keep_unknown=keep_unknown)
        prepared = services.prepare_record(canonical, location=raw_record.location, raw=raw_record.raw)
        prepared.schedule = schedule
        return prepared
    except RecordError as error:
        return RecordError(
            **{**error.as_dict(), "location": raw_record.location, "source_id": records.source_id_of(obj)}
        )


def _validate_chunk(chunk: list[RawRecord], keep_unknown: bool) -> list[PreparedRecord | RecordError]:
    return [validate_raw(raw, keep_unknown=keep_unknown) for raw in chunk]


def _validate_chunk_in_worker(chunk: list[RawRecord], keep_unknown: bool) -> list[PreparedRecord | RecordError]:
    """_validate_chunk, sending back no raw bytes: the importer still holds them (_rejoined)."""
    outcomes = _validate_chunk(chunk, keep_unknown)
    for outcome in outcomes:
        if isinstance(outcome, PreparedRecord):
            outcome.raw = None
    return outcomes


def _rejoined(
    chunk: list[RawRecord], outcomes: list[PreparedRecord | RecordError]
) -> Iterator[tuple[RawRecord, PreparedRecord | RecordError]]:
    # A fifth of what a worker sent back was the record's raw bytes, a copy of what is here
    # (measured: 21 KB a record, 4 KB of it raw; every byte is pickled, piped and unpickled).
    for raw, outcome in zip(chunk, outcomes, strict=True):
        if isinstance(outcome, PreparedRecord):
            outcome.raw = raw.raw
        yield raw, outcome


def _validated(
    raws: Iterable[RawRecord], *, workers: int, keep_unknown: bool, ahead: int = 0
) -> Iterator[tuple[RawRecord, PreparedRecord | RecordError]]:
    """Validate in worker processes, in input order, with a bounded number of chunks in flight.

    ahead: records to keep in flight (at least two chunks per worker). The
    caller writes a batch while the workers go on; with less than a batch and
    more in flight, the workers ran dry during every write and the writer then
    waited for them (measured: the import used 68% of two cores).

    A file that breaks mid-read raises SourceReadError only after every record
    read before the break has come out.
    """
    chunks = _chunked(raws, _CHUNK)
    if workers <= 1:
        for chunk in chunks:
            yield from zip(chunk, _validate_chunk(chunk, keep_unknown), strict=True)
        return
    # Forked workers inherit Django set up but should not inherit an open database
    # connection (they never use it, and a killed import would leave it open).
    # Inside a transaction (a caller's atomic block, tests) it has to stay open.
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, initializer=_exit_with_parent) as pool:
        # The chunk stays here: a worker sends back only what it made of each record.
        pending, broken = deque(), None
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(_validate_chunk_in_worker, chunk, keep_unknown)))
                if len(pending) >= max(workers * 2, -(-ahead // _CHUNK)):
                    chunk, outcomes = pending.popleft()
                    yield from _rejoined(chunk, outcomes.result())
        except SourceReadError as error:
            broken = error
        while pending:
            chunk, outcomes = pending.popleft()
            yield from _rejoined(chunk, outcomes.result())
        if broken is not None:
            raise broken


def _chunked(raws: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """Lists of up to `size` records; a read error first hands over the records read before it."""
    chunk = []
    try:
        for raw in raws:
            chunk.append(raw)
            if len(chunk) == size:
                yield chunk
                chunk = []
    except SourceReadError:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the import with the cyclic garbage collector doing a small fraction of its usual passes.

    An import allocates millions of short-lived containers (parsed records,
    tokens, rows) and holds thousands of records in flight; with the default
    thresholds the collector ran ~2,200 times in the writer process and spent
    1.9-2.6 s of a 22 s import of 20,000 records walking objects that were
    alive anyway (measured with gc.callbacks). Freezing what is loaded before
    the workers fork keeps Django's own objects out of every pass (and its
    pages shared with the workers, which inherit both settings); the larger
    first threshold leaves ~250 passes and 0.5 s. Reference counting still
    frees everything that is not a cycle at once, so memory stays flat.
    """
    thresholds, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_before:  # unfreeze() would also release what a caller froze
            gc.unfreeze()


def _exit_with_parent() -> None:
    """In a worker: exit when the import process is gone (even after kill -9), instead of lingering."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


# The tables an import writes, its posts first (bulk.refresh_statistics).
WRITTEN_MODELS = [Post, StackTag, ToolTag, PostEntity, ImageSource, Revision]


@_fewer_collections()
def import_records(
    paths: list[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    keep_unknown: bool = False,
    new_state: str = Post.State.PUBLISHED,
    reject_path: Path | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    stdin=None,
    publish_at: datetime.datetime | None = None,
    retry_seconds: float | None = None,
) -> ImportReport:
    """Import every record of `paths` (files, directories, or "-" for stdin).

    batch_size: records per transaction.
    dry_run: validate and classify against the database, then roll everything back.
    keep_unknown: keep unknown top-level fields (exported back) instead of rejecting them.
    reject_path: where rejected records go, unchanged; reasons go next to it.
    workers: processes that validate and render; default one per CPU.
    progress: called with the number of records handled since the last call.
    publish_at: schedule the posts this import creates (those without a `_schedule` of their own).
    retry_seconds: how long a batch is retried, with backoff, while the database is
        unreachable (default settings.IMPORT_RETRY_SECONDS); past that the run raises
        DatabaseUnavailable, and running it again resumes.
    Raises sources.SourceError before reading anything if a path cannot be read.
    """
    expand_paths(paths)  # fail fast on a missing file, before any write
    started = time.monotonic()
    report = ImportReport()
    importruns.mark_dead_runs()
    run = ImportRun.objects.create(
        sources="\n".join(paths), dry_run=dry_run, host=importruns.this_host(), pid=os.getpid()
    )
    rejects = RejectWriter(reject_path or default_reject_path())
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    retry_seconds = settings.IMPORT_RETRY_SECONDS if retry_seconds is None else retry_seconds
    batch: list[PreparedRecord] = []
    batch_ids: set[str] = set()

    def reject(raw: bytes, error: RecordError) -> None:
        report.rejected += 1
        report.retryable += error.retryable
        if len(report.errors) < 1000:
            report.errors.append(error)
        rejects.write(raw, error)

    def flush() -> None:
        if batch:
            for item in batch:
                if publish_at is not None and item.schedule is None:
                    item.schedule = {"publish_at": publish_at, "unpublish_at": None}
            try:
                result = _write_batch(batch, dry_run=dry_run, new_state=new_state, retry_seconds=retry_seconds)
            except _Unreachable as stop:
                raise DatabaseUnavailable(report, retry_seconds, stop.error) from stop.error
            _count(report, result)
            for item, error in result.rejected:
                reject(item.raw or item.line, error)
            if progress:
                progress(len(batch))
            batch.clear()
            batch_ids.clear()

    status = ImportRun.Status.FAILED
    try:
        try:
            for raw, outcome in _validated(
                read_records(paths, stdin=stdin), workers=workers, keep_unknown=keep_unknown, ahead=2 * batch_size
            ):
                if isinstance(outcome, RecordError):
                    reject(raw.raw, outcome)
                    if progress:
                        progress(1)
                    continue
                # The same post twice in one batch would be two writes of one row in one statement.
                if outcome.source_id in batch_ids:
                    flush()
                batch.append(outcome)
                batch_ids.add(outcome.source_id)
                if len(batch) >= batch_size:
                    flush()
        except SourceReadError as error:
            report.failure = str(error)
        flush()
        if not dry_run:
            bulk.refresh_statistics(WRITTEN_MODELS, rows_written=report.created + report.updated)
        status = ImportRun.Status.FAILED if report.failure else ImportRun.Status.FINISHED
    finally:
        report.seconds = time.monotonic() - started
        rejects.close(report.summary())
        if rejects.used:
            report.reject_path, report.errors_path = rejects.path, rejects.errors_path
        stopped_by = sys.exc_info()[1]  # the exception ending the run, if one is
        failure = f"{type(stopped_by).__name__}: {stopped_by}" if stopped_by else report.failure
        try:
            _finish_run(run, report, status, failure)
        except (OperationalError, InterfaceError):
            # The database is gone (the reason the run stops); the run's row is left as it was.
            logger.warning("import run %s: could not record its end, the database is unreachable", run.pk)
    logger.info(
        "import finished: %s",
        report.summary(),
        extra={
            "event": "import",
            "counts": {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "held": report.held,
                "rejected": report.rejected,
            },
            "duration_s": round(report.seconds, 3),
            "dry_run": dry_run,
        },
    )
    return report


def _finish_run(run: ImportRun, report: ImportReport, status: str, failure: str) -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        status=status,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        held=report.held,
        rejected=report.rejected,
        seconds=report.seconds,
        reject_file=str(report.reject_path or ""),
        error=failure[:2000],
    )


def _count(report: ImportReport, result: WriteResult) -> None:
    report.created += result.created
    report.updated += result.updated
    report.held += result.held
    report.unchanged += result.unchanged


class _Unreachable(Exception):
    def __init__(self, error: Exception):
        self.error = error


def _write_batch(batch: list[PreparedRecord], *, dry_run: bool, new_state: str, retry_seconds: float) -> WriteResult:
    """Write one batch; if the database refuses it, write record by record to find the culprit.

    A lost connection (a restart, a failover) is not the records' fault: the
    batch is retried with backoff for `retry_seconds`, then _Unreachable stops the run.
    """
    try:
        return _retrying(lambda: _write(batch, dry_run=dry_run, new_state=new_state), retry_seconds)
    except DatabaseError:
        return _write_one_by_one(batch, dry_run=dry_run, new_state=new_state, retry_seconds=retry_seconds)


def _retrying(write: Callable[[], WriteResult], retry_seconds: float) -> WriteResult:
    deadline = time.monotonic() + retry_seconds
    delay = 0.25
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as error:
            close_old_connections()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Unreachable(error) from error
            logger.warning("database unreachable, retrying the batch in %.1f s: %s", min(delay, remaining), error)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)


def _write(batch, *, dry_run: bool, new_state: str) -> WriteResult:
    with transaction.atomic():
        result = services.posts_write(batch, reason=Revision.Reason.IMPORT, new_state=new_state)
        _schedule_created(batch, result)
        if dry_run:
            transaction.set_rollback(True)
    return result


def _schedule_created(batch: list[PreparedRecord], result: WriteResult) -> None:
    """Give the posts this batch created the schedule their record (or --publish-at) asked for."""
    created = {change.post_id for change in result.changes if change.before is None}
    for item in batch:
        post_id = result.post_ids.get(item.source_id)
        if item.schedule and post_id in created:
            services.post_set_schedule(post_id, **item.schedule)


def _write_one_by_one(batch, *, dry_run: bool, new_state: str, retry_seconds: float) -> WriteResult:
    result = WriteResult()
    for item in batch:
        try:
            result.add(_retrying(lambda item=item: _write([item], dry_run=dry_run, new_state=new_state), retry_seconds))
        except DatabaseError as error:
            result.rejected.append((item, _database_error(item, error, retryable=False)))
    return result


def _database_error(item: PreparedRecord, error: Exception, *, retryable: bool) -> RecordError:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return RecordError(
        field="(database)",
        expected="the database to accept the record" if not retryable else "a reachable database",
        found=message[:300],
        retryable=retryable,
        source_id=item.source_id,
        location=item.location,
    )
