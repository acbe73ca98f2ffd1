"""Real varnishd for tests and benchmarks: alphanode's VCL, a free loopback port, stopped by its pid."""

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.gunicorn_server import free_port, get

ROOT = Path(__file__).resolve().parent.parent
VCL = ROOT / "deploy" / "varnish" / "alphanode.vcl"


def varnishd() -> str:
    """The varnishd binary; `make test` installs Debian's varnish and varnish-modules (make deps-varnish)."""
    path = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not os.path.exists(path):
        raise RuntimeError("varnishd is missing: run `make deps-varnish` (Debian's varnish and varnish-modules)")
    return path


def site_vcl(backends: list[int], purgers: list[str], *, quick: bool = False) -> str:
    """The shipped VCL with its marked blocks replaced: these app server ports, these purge addresses.

    quick: probe every 0.3 s and keep 1 s of grace while healthy (instead of 2 s and 10 s),
    so tests see an app server go down, and grace run out, within seconds.
    """
    text = VCL.read_text()
    if quick:
        text = text.replace(".interval = 2s;", ".interval = 0.3s;")
        text = text.replace("set req.grace = 10s;", "set req.grace = 1s;")
    servers = "".join(
        f'backend app{n} {{\n    .host = "127.0.0.1";\n    .port = "{port}";\n    .probe = health;\n'
        f"    .first_byte_timeout = 30s;\n}}\n"
        for n, port in enumerate(backends, start=1)
    )
    acl = "acl purgers {\n" + "".join(f'    "{address}";\n' for address in purgers) + "}\n"
    director = (
        "sub vcl_init {\n    new app = directors.round_robin();\n"
        + "".join(f"    app.add_backend(app{n});\n" for n in range(1, len(backends) + 1))
        + "}\n"
    )
    for block, replacement in (("backends", servers), ("purgers", acl), ("director", director)):
        pattern = re.compile(rf"(# BEGIN {block}[^\n]*\n).*?(# END {block})", re.S)
        text, count = pattern.subn(lambda m, new=replacement: m[1] + new + m[2], text)
        assert count == 1, f"the VCL has no marked {block} block"
    return text


@dataclass
class Varnish:
    port: int
    workdir: Path
    pid: int

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        return get(self.port, path, headers)

    @property
    def purge_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)


def start_varnish(
    workdir: Path, backends: list[int], *, purgers=("127.0.0.1",), quick: bool = False, port: int | None = None
) -> Varnish:
    """varnishd on 127.0.0.1 (a free port, or `port`) in front of the app servers on these ports, answering."""
    workdir.mkdir(parents=True, exist_ok=True)
    vcl = workdir / "alphanode.vcl"
    vcl.write_text(site_vcl(backends, list(purgers), quick=quick))
    port = port or free_port()
    pidfile = workdir / "varnishd.pid"
    # -j none: no privilege drop, so varnishd reads the VCL in the test's private tmp dir.
    command = [varnishd(), "-j", "none", "-a", f"127.0.0.1:{port}", "-f", str(vcl), "-s", "malloc,64m"]
    started = subprocess.run(
        [*command, "-n", str(workdir / "n"), "-P", str(pidfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if started.returncode != 0:
        raise RuntimeError(f"varnishd did not start:\n{started.stdout}\n{started.stderr}")
    edge = Varnish(port, workdir, int(pidfile.read_text()))
    deadline = time.monotonic() + 20
    while True:
        try:
            status, _, _ = get(port, "/health", timeout=2)
            if status == 200:
                return edge
        except OSError:
            pass
        if time.monotonic() > deadline:
            edge.stop()
            raise RuntimeError(f"varnishd on port {port} did not reach its backends")
        time.sleep(0.1)
