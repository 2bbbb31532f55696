"""Trace ids across both apps, request ids, JSON logs and Prometheus metrics."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

import pytest

from tests.conftest import eventually
from tests.faults.test_faults import Http
from tests.integration.test_api import make_token
import devstack


def json_lines(path):
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def test_a_trace_id_follows_one_operation_through_both_apps(user, stack):
    http = Http(stack.url(), make_token(user, "trace"))
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    status, task, headers = http.call("POST", "/api/v1/tasks", {"title": "traced"})
    status, _, _ = http.call("PUT", f"/api/v1/tasks/{task['id']}/status", {"status": "completed"},
                             {"If-Match": headers["ETag"], "traceparent": traceparent})
    assert status == 200

    def seen_in(app_id):
        return [line for line in json_lines(stack.logs_dir / f"{app_id}.log") if line.get("trace_id") == trace_id]

    def logged(app_id, text):
        return any(text in line["message"] for line in seen_in(app_id))

    assert eventually(lambda: logged("taskboard", "/status"))
    assert eventually(lambda: logged("taskboard", "POST /events/task-events"))  # the CloudEvent carried it
    assert eventually(lambda: logged("notification-service", "POST /notify"))  # and the invocation
    notifier = seen_in("notification-service")
    assert all(line["app"] == "notification-service" for line in notifier)


def test_request_id_is_echoed_and_logged(stack):
    req = urllib.request.Request(stack.url() + "/login", headers={"X-Request-ID": "req-abc-123"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["X-Request-ID"] == "req-abc-123"
    eventually(lambda: any(line.get("request_id") == "req-abc-123"
                           for line in json_lines(stack.logs_dir / "taskboard.log")))


def test_prometheus_metrics_of_all_workers(user, stack):
    """Every worker's metrics, from the gunicorn master on the metrics port (where Prometheus scrapes)."""
    http = Http(stack.url(), make_token(user, "metrics"))
    for _ in range(4):
        http.call("POST", "/api/v1/tasks", {"title": "counted"})
    body = urllib.request.urlopen(stack.metrics_url(), timeout=10).read().decode()
    assert "taskboard_http_request_duration_seconds_bucket" in body
    created = sum(float(line.split()[-1]) for line in body.splitlines()
                  if line.startswith("taskboard_tasks_created_total"))
    assert created >= 4
    assert 'taskboard_events_published_total{topic="task-events"}' in body
    notifier = urllib.request.urlopen(stack.metrics_url("notification-service"), timeout=10).read().decode()
    assert "taskboard_http_request_duration_seconds" in notifier


def test_metrics_are_not_served_on_the_app_port(stack):
    """The app port is what the ingress routes to the internet: no /metrics there."""
    for app_id in devstack.APPS:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(stack.url(app_id) + "/metrics", timeout=10)
        assert missing.value.code == 404, app_id
        with urllib.request.urlopen(stack.metrics_url(app_id), timeout=10) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
