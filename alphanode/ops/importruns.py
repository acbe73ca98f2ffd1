"""Import runs whose process died (kill -9, a crash, a reboot): found and marked, never "running" forever.

A run records the host and process id it runs as. A run still "running"
whose process is gone from its host can only have died: nothing else ends a
run without marking it. Each host checks its own runs (another host's pids mean
nothing here) whenever the monitoring page is shown or an import starts.
"""

import os
import socket

from django.utils import timezone

from alphanode.ops.models import ImportRun


def this_host() -> str:
    return socket.gethostname()


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


def mark_dead_runs() -> int:
    """Mark this host's "running" runs whose process is gone as failed; returns how many."""
    marked = 0
    running = ImportRun.objects.filter(status=ImportRun.Status.RUNNING, host=this_host(), pid__isnull=False)
    for run in running.only("pk", "pid"):
        if process_alive(run.pid):
            continue
        marked += ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.RUNNING).update(
            status=ImportRun.Status.FAILED,
            finished_at=timezone.now(),
            error=(
                f"the import process (pid {run.pid}) is gone: it was killed or crashed. Running the same "
                "command again stores what is missing; what was committed stays."
            ),
        )
    return marked
