"""A private PostgreSQL cluster for tests that stop or restart the server (never the shared one).

initdb and pg_ctl come from Debian's /usr/lib/postgresql/<version>/bin; the
cluster lives in a temporary directory, listens on 127.0.0.1 and a free port,
trusts local connections and is removed when the test is done. initdb refuses
to run as root, so as root the commands run as the `postgres` user.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.gunicorn_server import free_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    return Path(found[-1]).parent if found else None


@dataclass
class Cluster:
    bin: Path
    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "alphanode") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def query(self, sql: str, database: str = "alphanode") -> list[tuple]:
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb, start, and create the `alphanode` database."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server binaries are missing (apt-get install postgresql)")
    # Under /tmp, not pytest's 0700 tmp_path: the postgres user has to reach it.
    directory = Path(tempfile.mkdtemp(prefix="alphanode-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = Cluster(bin_dir, directory, free_port())
    cluster._run("initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    cluster.start()
    cluster.query("CREATE DATABASE alphanode", database="postgres")
    return cluster
