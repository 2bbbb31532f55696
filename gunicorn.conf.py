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
# Never preload: the Dapr gRPC client must be created after the fork, per worker.
preload_app = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The app logs each request itself (with trace and request ids); gunicorn's access log is opt-in.
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "0") == "1" else None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


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
