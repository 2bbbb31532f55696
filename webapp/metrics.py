"""Prometheus metrics of both apps (served at /metrics; gunicorn workers aggregated)."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

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
NOTIFICATIONS_DELIVERED = Counter("taskboard_notifications_delivered_total",
                                  "Notifications delivered through the output binding", ["kind"])


def exposition() -> tuple[bytes, str]:
    """The metrics text: every gunicorn worker's, when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
