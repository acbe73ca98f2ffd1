"""gunicorn settings, read from the environment (and the release's .env, like Django's settings).

Deploys reload code with `kill -HUP <master>` (scripts/deploy). That works because:
- `chdir` is this file's directory *as given on the command line*, e.g.
  /srv/alphanode/current, a symlink, not the release it pointed to at start.
  gunicorn puts it on sys.path, and on HUP it re-reads this file and chdirs
  again, so new workers import the release `current` points to now;
- the app is not preloaded: the master never imports Django or alphanode, so
  nothing of the old release is inherited when it forks new workers.
Start the master from the stable path: `scripts/serve` does (`make deploy` starts it when needed).
"""

import os
import shutil
import sys
import tempfile

from dotenv import load_dotenv

# abspath, not realpath: keep the symlink in the path.
chdir = os.path.dirname(os.path.abspath(__file__))
load_dotenv(os.path.join(chdir, ".env"))

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers gave the best latency on this kind of machine (../shared/guide/performance-notes.md).
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A worker silent this long is killed and replaced; requests must finish well within it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On HUP or TERM, old workers get this long to finish the requests they hold.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# gunicorn's default (4094 bytes) answers a long search URL with its own bare 414 page. At the
# maximum, every URL a reader can make (a search is cut at 200 characters, 2,400 bytes encoded)
# reaches the site, which answers with its own page (400 for an over-long search).
limit_request_line = 8190
preload_app = False
pidfile = os.environ.get("GUNICORN_PIDFILE") or None
# gunicorn's own access line, next to the app's JSON request line; GUNICORN_ACCESS_LOG= (empty) turns it off.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# Deploys use signals (HUP). gunicorn's control socket would be one more way in, at a path
# ($HOME/.gunicorn/gunicorn.ctl) that every gunicorn on the machine shares.
control_socket_disable = True
# %(M)s is the request time in milliseconds.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def on_starting(server):
    """Give the workers of this master one fresh directory for Prometheus counters."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        # prometheus_client's rule: the directory is wiped when the server starts, not on reload.
        shutil.rmtree(configured, ignore_errors=True)
        os.makedirs(configured)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="alphanode-prometheus-")
        os.environ["ALPHANODE_PROMETHEUS_TEMP"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def worker_exit(server, worker):
    """Runs in the worker: save the request timings it counted since its last flush (alphanode/ops/timings.py)."""
    timings = sys.modules.get("alphanode.ops.timings")  # absent when the app failed to load
    if timings is not None:
        timings.recorder.flush()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    temporary = os.environ.get("ALPHANODE_PROMETHEUS_TEMP")
    if temporary:
        shutil.rmtree(temporary, ignore_errors=True)
