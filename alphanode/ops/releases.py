"""Which release this process serves, and the record of deployments.

scripts/deploy writes a RELEASE file (JSON: id, commit, deployed_at) into each
release directory. A worker reads it once: a process only ever runs the code of
one release, and after a deploy gunicorn starts new workers for the new one.
"""

import functools
import json
import os
import socket
import subprocess
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from alphanode.ops.models import Deployment


@functools.cache
def current_release() -> dict:
    """{"id", "commit", "deployed_at"} of the code this process runs."""
    path = Path(settings.RELEASE_FILE)
    if path.exists():
        data = json.loads(path.read_text())
        return {"id": str(data["id"]), "commit": data.get("commit", ""), "deployed_at": data.get("deployed_at")}
    commit = _git_commit()
    return {
        "id": os.environ.get("RELEASE_ID") or commit or "unknown",
        "commit": commit,
        "deployed_at": os.environ.get("RELEASE_DEPLOYED_AT"),
    }


def _git_commit() -> str:
    """The checkout's commit, for development runs that have no RELEASE file."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()


def record_deployment(
    *,
    action: str,
    outcome: str,
    release: str,
    started_at: datetime,
    commit: str = "",
    previous_release: str = "",
    migrations: str = "",
    changes: str = "",
    message: str = "",
) -> Deployment:
    """Store one deploy or rollback run; finished now, on this host."""
    deployment = Deployment(
        action=action,
        outcome=outcome,
        release=release,
        commit=commit,
        previous_release=previous_release,
        host=socket.gethostname(),
        started_at=started_at,
        finished_at=timezone.now(),
        migrations=migrations,
        changes=changes,
        message=message,
    )
    deployment.full_clean()
    deployment.save()
    return deployment
