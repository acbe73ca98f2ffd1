"""Real gunicorn servers for tests: a free port, the environment given, wait until it answers."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """One GET on a fresh connection; redirects are not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        return get(self.port, path, headers)

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until_answering(port: int, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode} before answering")
        try:
            get(port, "/health", timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


def start_gunicorn(env: dict, log_path: Path, *, cwd: Path = ROOT, workers: int = 2, port: int | None = None) -> Server:
    """gunicorn with the project's gunicorn.conf.py on `port` (default: a free one); output goes to log_path."""
    port = port or free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(GUNICORN), "alphanode.wsgi", "--config", str(cwd / "gunicorn.conf.py")],
            cwd=cwd,
            env={**env, "PWD": str(cwd)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log_path)
    try:
        wait_until_answering(port, process=process)
    except RuntimeError:
        server.stop()
        raise RuntimeError(f"gunicorn did not start; its log:\n{log_path.read_text()}") from None
    return server


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
