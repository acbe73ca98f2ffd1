"""Request timings: histograms per route and minute, flushed per process, merged across processes."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from alphanode.ops import timings
from alphanode.ops.models import RequestTiming

NOW = datetime(2026, 1, 31, 12, 0, 30, tzinfo=UTC).timestamp()


def test_percentiles_come_from_the_histogram_within_one_bucket():
    stats = timings.RouteStats()
    for duration in range(1, 101):  # 1 ms .. 100 ms, one request each
        stats.add_request(float(duration), 200)
    assert stats.count == 100
    assert 30 <= stats.p50 <= 50  # the 50th request (50 ms) falls in the 30-50 ms bucket
    assert 70 <= stats.p99 <= 100
    assert stats.max_ms == 100
    assert stats.mean_ms == pytest.approx(50.5)


def test_slow_outliers_show_in_p99_not_p50():
    stats = timings.RouteStats()
    for _ in range(98):
        stats.add_request(2.0, 200)
    for _ in range(2):
        stats.add_request(2500.0, 200)
    assert stats.p50 <= 2
    assert 2000 <= stats.p99 <= 2500


def test_no_requests_no_percentiles():
    assert timings.RouteStats().p50 is None


def test_server_errors_are_counted():
    stats = timings.RouteStats()
    stats.add_request(1, 200)
    stats.add_request(1, 404)
    stats.add_request(1, 502)
    assert stats.errors == 1


@pytest.mark.django_db
def test_two_processes_flush_and_the_reader_merges_them():
    first, second = timings.TimingRecorder(), timings.TimingRecorder()
    for _ in range(30):
        first.record("/health", 200, 2.0, now=NOW)
    for _ in range(10):
        second.record("/health", 500, 400.0, now=NOW)
    second.record("/ops/", 200, 50.0, now=NOW)
    assert first.flush(now=NOW) == 1
    assert second.flush(now=NOW) == 2
    # A fixed minute long ago: no server started by other tests writes there.
    at = datetime.fromtimestamp(NOW, UTC)
    merged = timings.route_stats(at - timedelta(minutes=5), at + timedelta(minutes=5))
    assert merged["/health"].count == 40
    assert merged["/health"].errors == 10
    assert merged["/health"].p50 <= 2
    assert merged["/health"].p99 > 300
    assert merged["/ops/"].count == 1
    assert timings.overall(merged).count == 41


@pytest.mark.django_db
def test_flushing_again_overwrites_the_process_row_instead_of_adding_to_it():
    recorder = timings.TimingRecorder()
    recorder.record("/health", 200, 2.0, now=NOW)
    recorder.flush(now=NOW)
    recorder.record("/health", 200, 2.0, now=NOW + 1)
    recorder.flush(now=NOW + 1)
    assert RequestTiming.objects.get(worker=recorder.worker).count == 2


@pytest.mark.django_db
def test_finished_minutes_leave_memory_once_saved():
    recorder = timings.TimingRecorder()
    recorder.record("/health", 200, 2.0, now=NOW)
    recorder.flush(now=NOW + 120)
    assert recorder._minutes == {}
    recorder.record("/health", 200, 2.0, now=NOW + 120)
    recorder.flush(now=NOW + 121)
    assert len(recorder._minutes) == 1  # the current minute stays: more requests may come


def test_a_flush_is_due_after_enough_requests():
    recorder = timings.TimingRecorder()
    assert not recorder.flush_due()
    for _ in range(timings.FLUSH_REQUESTS):
        recorder.record("/health", 200, 1.0)
    assert recorder.flush_due()


@pytest.mark.django_db
def test_old_rows_are_pruned():
    old = datetime.fromtimestamp(NOW, UTC) - timings.RETENTION - timedelta(hours=1)
    RequestTiming.objects.create(minute=old, route="/health", worker="gone:1:x", count=1, buckets=[1])
    recorder = timings.TimingRecorder()
    recorder.record("/health", 200, 1.0, now=NOW)
    recorder.flush(now=NOW)
    # Servers started by other tests may write rows too: look only at these two.
    workers = RequestTiming.objects.filter(worker__in=["gone:1:x", recorder.worker]).values_list("worker", flat=True)
    assert list(workers) == [recorder.worker]


def test_a_forked_child_takes_a_new_identity_and_starts_with_no_counts():
    """The module's recorder, across a real os.fork (as gunicorn forks workers); the child reports through a pipe."""
    recorder = timings.recorder
    recorder.clear()
    recorder.record("/health", 200, 1.0, now=NOW)
    parent = (recorder.worker, recorder._unflushed)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's cleanup
        try:
            report = {"worker": recorder.worker, "unflushed": recorder._unflushed, "minutes": len(recorder._minutes)}
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child = json.loads(pipe.read())
    assert os.waitpid(pid, 0)[1] == 0
    assert child["worker"] != parent[0]
    assert child["worker"].split(":")[1] == str(pid)
    assert (child["unflushed"], child["minutes"]) == (0, 0)
    assert (recorder.worker, recorder._unflushed) == (parent[0], 1)  # the parent keeps its own
    recorder.clear()
