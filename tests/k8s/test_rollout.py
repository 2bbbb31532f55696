"""Deleting one taskboard pod under constant load through the ingress loses no request and no event: readiness
turns 503 first (preStop drain file), the pod leaves the Service's endpoints (which Traefik balances over),
gunicorn drains its requests, and the sidecar stays up until the app is done (dapr.io/block-shutdown-duration)."""

from __future__ import annotations

import threading
import time
import uuid

from .conftest import NS, WebUser, eventually, kubectl, pods


def ready_pods() -> list[str]:
    """Names of taskboard pods that are Ready and not terminating."""
    out = []
    for pod in pods("app.kubernetes.io/name=taskboard"):
        conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        if conditions.get("Ready") == "True" and not pod["metadata"].get("deletionTimestamp"):
            out.append(pod["metadata"]["name"])
    return out


def test_deleting_a_taskboard_pod_under_load_loses_nothing(ingress, web_user):
    assert len(ready_pods()) >= 2, "the test needs two ready taskboard pods"
    stop = threading.Event()
    failures: list[tuple] = []
    reads = [0]
    completed: list[str] = []

    def reader():
        client = ingress.user()
        while not stop.is_set():
            try:
                status, _, _ = client.request("GET", "/login")
                reads[0] += 1
                if status != 200:
                    failures.append(("GET /login", status, time.monotonic()))
            except OSError as err:
                failures.append(("GET /login", repr(err), time.monotonic()))

    def writer():
        while not stop.is_set():
            try:
                task_id = web_user.create_task(f"Under load {uuid.uuid4().hex[:6]}")
                status = web_user.complete(task_id)
                if status == 302:
                    completed.append(task_id)
                else:
                    failures.append(("complete", status, time.monotonic()))
            except (OSError, AssertionError) as err:
                failures.append(("create/complete", repr(err)[:300], time.monotonic()))

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    try:
        time.sleep(5)
        victim = ready_pods()[0]
        kubectl("-n", NS, "delete", "pod", victim, "--wait=false")
        eventually(lambda: victim not in [p["metadata"]["name"] for p in pods("app.kubernetes.io/name=taskboard")],
                   timeout=120, interval=1)
        eventually(lambda: len(ready_pods()) >= 2, timeout=180, interval=1)
        time.sleep(5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not failures, failures[:10]
    assert reads[0] > 50 and len(completed) >= 5, (reads[0], len(completed))
    # every completion's event became a notification in the inbox (none lost)
    eventually(lambda: web_user.unread() == len(completed), timeout=120, interval=2)
