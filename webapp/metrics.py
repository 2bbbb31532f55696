"""Prometheus metrics of both apps, every gunicorn worker's aggregated.

Served by the gunicorn master on a port of its own (``TASKBOARD_METRICS_PORT``,
see gunicorn.conf.py), never on the app's port: the ingress routes the app
port to the internet, and Prometheus scrapes the metrics port of each pod.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import multiprocess, start_http_server

REQUEST_SECONDS = Histogram(
    "taskboard_http_request_duration_seconds", "Time to answer an HTTP request",
    ["app", "method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
TASKS_CREATED = Counter("taskboard_tasks_created_total", "Tasks created")
TASKS_COMPLETED = Counter("taskboard_tasks_completed_total", "Tasks completed")
EVENTS_PUBLISHED = Counter("taskboard_events_published_total", "Events published", ["topic"])
EVENTS_FAILED = Counter("taskboard_events_failed_total", "Event publishes that failed (left in the outbox)",
                        ["topic"])
CONFLICT_RETRIES = Counter("taskboard_conflict_retries_total",
                           "Optimistic-concurrency retries (ETag conflicts) by loop; outcome=exhausted when one gave up",
                           ["loop", "outcome"])
BOARD_ACTOR_CALLS = Counter("taskboard_board_actor_calls_total",
                            "Rows sent to a shared board's actor; outcome=fallback when written on the optimistic path",
                            ["outcome"])
NOTIFICATIONS_DELIVERED = Counter("taskboard_notifications_delivered_total",
                                  "Notifications delivered through the output binding", ["kind"])


def registry() -> CollectorRegistry:
    """Every gunicorn worker's metrics when running multi-process, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        aggregate = CollectorRegistry()
        multiprocess.MultiProcessCollector(aggregate)
        return aggregate
    return REGISTRY


def serve(port: int, address: str):
    """Serve the metrics over HTTP from a daemon thread; returns the server (OSError if the port is taken)."""
    server, _thread = start_http_server(port, address, registry=registry())
    return server
