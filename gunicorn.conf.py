"""gunicorn settings for both apps; every value can be overridden from the environment."""

import ctypes
import ctypes.util
import gc
import os
import tempfile

# glibc malloc settings (mallopt), set here in the master before it loads the app so every forked worker
# inherits them; a standard glibc variable in the environment (MALLOC_ARENA_MAX=...) wins over each.
# - at most 2 arenas: otherwise each of a worker's 8 request threads and gRPC's threads gets arenas of its
#   own (up to 8 per core) that keep the memory their peaks freed;
# - a fixed mmap threshold of 128 KiB: blocks that large (a 1,000-row index's JSON, a rendered page) are
#   mapped and unmapped, so freeing them returns the memory; without it glibc raises the threshold after
#   the first such free and keeps later ones in the heap;
# - a trim threshold of 128 KiB: the heap's free top goes back to the system sooner.
MALLOC_SETTINGS = {"MALLOC_ARENA_MAX": (-8, 2), "MALLOC_MMAP_THRESHOLD_": (-3, 128 * 1024),
                   "MALLOC_TRIM_THRESHOLD_": (-1, 128 * 1024)}  # env name: (mallopt parameter, value)


def tune_malloc() -> None:
    """Apply MALLOC_SETTINGS with glibc's mallopt (nothing on a C library without it, e.g. musl);
    TASKBOARD_MALLOC_TUNING=0 leaves malloc as it is."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or os.environ.get("TASKBOARD_MALLOC_TUNING", "1") == "0":
        return
    for env_name, (parameter, value) in MALLOC_SETTINGS.items():
        if env_name not in os.environ:
            mallopt(parameter, value)


tune_malloc()

# The cyclic garbage collector keeps CPython's thresholds (700, 10, 10) unless TASKBOARD_GC_THRESHOLD gives
# them ("10000" or "10000,2,2": the first ones, the rest as they are). A first threshold of 10,000 was tried
# for the list page of 1,000 tasks and measured (bench/run.py --only app-cpu, same machine, one after the
# other): the largest worker after the seeding and the app-CPU rounds 111.0 / 97.1 MB at 10,000 against
# 87.6 / 85.6 MB at 700 (92.0 at 10,000,2,2): garbage in cycles, and all it references, waited longer and
# the heap kept that peak; bench/ab.py of orjson and the threshold together against the commit before them
# read list1000 1.00x, board 0.97x (no CPU it could tell apart).
GC_THRESHOLD = os.environ.get("TASKBOARD_GC_THRESHOLD", "")
if GC_THRESHOLD:
    _first = [int(n) for n in GC_THRESHOLD.split(",")]
    gc.set_threshold(*_first, *gc.get_threshold()[len(_first):])

# Prometheus metrics from every worker, aggregated (set before workers import the app) and
# served by the master on a port of its own, which the ingress never routes to (see when_ready).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="taskboard-metrics-"))
metrics_port = int(os.environ.get("TASKBOARD_METRICS_PORT", "9464"))  # 0: no metrics server
metrics_address = os.environ.get("TASKBOARD_METRICS_ADDRESS", "0.0.0.0")

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Load the app once in the master, then fork: the workers share its code and
# imports (copy-on-write), so each extra worker costs only what it writes. Safe
# because nothing connects at import: each worker creates its own Dapr gRPC
# client on first use (webapp/dapr_gateway), after the fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The app logs each request itself (with trace and request ids); gunicorn's access log is opt-in.
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "0") == "1" else None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's control socket (gunicornc) defaults to one path per user
# (~/.gunicorn/gunicorn.ctl), so two apps on one machine would take each other's.
# Off unless given a path; scripts/devstack.py gives each app its own in the run dir.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def compile_in_master(server) -> None:
    """Compile what a preloaded Flask app would otherwise compile in each worker on first use (every
    Jinja template, the URL map's matcher), so the workers share it instead of each holding a copy."""
    if not preload_app:
        return
    app = server.app.wsgi()
    jinja_env = getattr(app, "jinja_env", None)
    if jinja_env is not None:
        for name in jinja_env.list_templates():
            jinja_env.get_template(name)
    url_map = getattr(app, "url_map", None)
    if url_map is not None:
        url_map.update()


def when_ready(server):
    """Compile the shared parts, then serve every worker's metrics from the master, on the metrics port
    (before the workers fork)."""
    compile_in_master(server)
    if not metrics_port:
        return
    from webapp import metrics
    try:
        server.metrics_server = metrics.serve(metrics_port, metrics_address)
    except OSError as err:
        raise RuntimeError(f"TASKBOARD_METRICS_PORT {metrics_port} on {metrics_address}: {err}") from err
    server.log.info("Metrics at: http://%s:%s/metrics", metrics_address, metrics_port)


def post_fork(server, worker):
    """A worker does not serve metrics: close its copy of the master's metrics socket."""
    metrics_server = getattr(server, "metrics_server", None)
    if metrics_server is not None:
        metrics_server.socket.close()


def pre_fork(server, worker):
    """Freeze what the master loaded: the workers' garbage collector then never
    walks (and so never writes to) the shared objects, which stay shared."""
    if preload_app:
        gc.freeze()


def worker_exit(server, worker):
    """Close this worker's sidecar channel."""
    app = getattr(worker, "wsgi", None)
    gateway = getattr(app, "extensions", {}).get("dapr") if app else None
    if gateway is not None:
        gateway.close()


def child_exit(server, worker):
    """Drop a dead worker's live metrics (gauges) from the aggregate."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
