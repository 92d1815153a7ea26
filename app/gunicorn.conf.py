"""gunicorn settings for docstore: ``gunicorn -c gunicorn.conf.py docstore.main:app``.

The port, workers, timeouts and the log level come from the environment (PORT,
WEB_CONCURRENCY, GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, LOG_LEVEL). On SIGTERM gunicorn
closes its listening socket (new connections are refused), lets in-flight requests finish for up to
GUNICORN_GRACEFUL_TIMEOUT seconds, then exits.
"""

import os
import shutil
import socket
import sys

# gunicorn loads this file before it imports the app: make docstore importable from here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from docstore.logging_setup import build_logging_config
from docstore.settings import ServerSettings, load

_server = load(ServerSettings)

# Multiprocess metrics: every worker writes here and /metrics aggregates; set before the
# workers fork (and import prometheus_client) so they inherit it.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/prometheus-metrics")  # noqa: S108
_METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]

# All interfaces inside the container, on PORT (default 8000; Railway sets it: see
# docs/deploy-railway.md); compose decides what is published on the host. On a VM also a unix
# socket per container: nginx connects to the `live.sock` symlink beside it, which `inv deploy`
# points at the serving container (no nginx reload; docs/deploy.md).
bind = [f"0.0.0.0:{_server.port}"]
if _server.app_socket_dir:
    bind.append(f"unix:{_server.app_socket_dir}/{socket.gethostname()}.sock")
worker_class = "uvicorn_worker.UvicornWorker"
workers = _server.web_concurrency
timeout = _server.gunicorn_timeout
graceful_timeout = _server.gunicorn_graceful_timeout
# Longer than nginx's upstream keepalive_timeout (60 s), so the proxy, not the app, closes
# idle upstream connections (otherwise a request can race a close and get a 502).
keepalive = 75
preload_app = False  # each worker builds its own engine and pools after the fork
proc_name = "docstore"
# Heartbeat files on a tmpfs: works with a read-only root filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# No control socket (gunicorn >= 25 would create one under $HOME, which `app` does not have).
control_socket_disable = True

# Logging: JSON lines on stdout for gunicorn, uvicorn and the app alike. gunicorn's own access
# log is off: the application's middleware writes one line per request.
loglevel = _server.log_level.lower()
accesslog = None
errorlog = "-"
logconfig_dict = build_logging_config(_server.log_level)


def on_starting(server):
    """Start with an empty metrics directory: files of a previous run would be summed in."""
    if os.path.isdir(_METRICS_DIR):
        for entry in os.scandir(_METRICS_DIR):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
    else:
        os.makedirs(_METRICS_DIR, exist_ok=True)


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the aggregate."""
    from prometheus_client import multiprocess  # only the master calls this

    multiprocess.mark_process_dead(worker.pid)


def worker_int(worker):
    worker.log.info("worker received INT or QUIT; shutting down")
