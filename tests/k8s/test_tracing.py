"""One request's trace id shows in `kubectl logs` of taskboard's container and of notification-service's
container (the invocation and the event it caused carry the W3C trace context through both sidecars)."""

from __future__ import annotations

import secrets
import uuid

from .conftest import NS, eventually, kubectl, pods


def app_logs(app: str) -> str:
    """Every pod's app-container log of one app, concatenated."""
    return "".join(kubectl("-n", NS, "logs", p["metadata"]["name"], "-c", app, "--since=10m")
                   for p in pods(f"app.kubernetes.io/name={app}") if p["status"].get("phase") == "Running")


def test_one_trace_id_in_both_apps_logs(web_user):
    task_id = web_user.create_task(f"Traced {uuid.uuid4().hex[:6]}")
    trace_id = secrets.token_hex(16)
    assert web_user.complete(task_id, headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}) == 302
    eventually(lambda: trace_id in app_logs("taskboard"), timeout=30)
    eventually(lambda: trace_id in app_logs("notification-service"), timeout=60)
