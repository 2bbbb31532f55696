"""gunicorn settings for both apps; every value can be overridden from the environment."""

import os
import tempfile

# Prometheus metrics from every worker, aggregated at /metrics (set before workers import the app).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="taskboard-metrics-"))

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


def pre_fork(server, worker):
    """Freeze what the master loaded: the workers' garbage collector then never
    walks (and so never writes to) the shared objects, which stay shared."""
    if preload_app:
        import gc
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
