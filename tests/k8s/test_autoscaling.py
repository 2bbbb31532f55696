"""The taskboard HPA scales on real CPU metrics (metrics-server): under load through the ingress it goes from 2 to
at least 3 replicas, with lighter load back to 2 — and across both moves no request fails and every completion's
event becomes a notification (the same checks as test_rollout.py). overlays/local shortens the scale-down
stabilisation window to 30 s (the base's 300 s would outlast a test run)."""

from __future__ import annotations

import json
import threading
import time
import uuid

from .conftest import NS, WebUser, eventually, kube_json, kubectl
from .test_rollout import ready_pods


def hpa_status() -> dict:
    """The taskboard HPA's status."""
    return kube_json("-n", NS, "get", "hpa", "taskboard")["status"]


def hpa_events() -> list[str]:
    """The HPA's events, oldest first ("SuccessfulRescale: New size: 3; reason: ...")."""
    items = kube_json("-n", NS, "get", "events", "--field-selector",
                      "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=taskboard")["items"]
    items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [f"{e.get('lastTimestamp')} {e['reason']}: {e['message']}" for e in items]


def taskboard_pods_in_metrics_api() -> set[str]:
    """Names of taskboard pods with CPU usage of their app container in the resource metrics API."""
    raw = json.loads(kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods"))
    return {i["metadata"]["name"] for i in raw["items"]
            if i["metadata"]["name"].startswith("taskboard-")
            and any(c["name"] == "taskboard" and "cpu" in c["usage"] for c in i["containers"])}


class Load:
    """Readers of /login and writers that create and complete tasks through the ingress, each writer a user of
    its own (one session per client, as browsers have); every failure kept."""

    def __init__(self, ingress):
        self.ingress = ingress
        self.failures: list[tuple] = []
        self.completed: dict[WebUser, list[str]] = {}
        self.reads = 0
        self.pause = 0.0  # seconds each client waits between its requests (0: as fast as answers come)
        self.threads: list[tuple[threading.Thread, threading.Event]] = []

    def reader(self, stop: threading.Event) -> None:
        client = self.ingress.user()
        while not stop.is_set():
            try:
                status, _, _ = client.request("GET", "/login")
                self.reads += 1
                if status != 200:
                    self.failures.append(("GET /login", status, time.monotonic()))
            except OSError as err:
                self.failures.append(("GET /login", repr(err), time.monotonic()))
            stop.wait(self.pause)

    def writer(self, stop: threading.Event, user: WebUser) -> None:
        while not stop.is_set():
            try:
                task_id = user.create_task(f"Scaling {uuid.uuid4().hex[:6]}")
                status = user.complete(task_id)
                if status == 302:
                    self.completed[user].append(task_id)
                else:
                    self.failures.append(("complete", status, time.monotonic()))
            except (OSError, AssertionError) as err:
                self.failures.append(("create/complete", repr(err)[:300], time.monotonic()))
            stop.wait(self.pause)

    def start(self, readers: int, writers: int) -> None:
        for _ in range(readers):
            self._thread(self.reader)
        for _ in range(writers):
            user = self.ingress.user()
            user.register()
            self.completed[user] = []
            self._thread(self.writer, user)

    def _thread(self, target, *args) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=target, args=(stop, *args))
        thread.start()
        self.threads.append((thread, stop))

    def shed(self, keep: int, pause: float) -> None:
        """Stop all but the first `keep` threads (the first ones started: a reader and a writer), which from now
        on wait `pause` seconds between requests: a load of known size, whatever the CPU one answer costs (an
        unpaced client keeps every replica as busy as answers come back, on a busy machine above the target)."""
        self.pause = pause
        for thread, stop in self.threads[keep:]:
            stop.set()

    def stop(self) -> None:
        for _, stop in self.threads:
            stop.set()
        for thread, _ in self.threads:
            thread.join(timeout=30)


def test_the_metrics_api_has_every_taskboard_pods_cpu(cluster):
    eventually(lambda: set(ready_pods()) <= taskboard_pods_in_metrics_api(), timeout=120, interval=2)
    eventually(lambda: hpa_status().get("currentMetrics"), timeout=120, interval=2)


def test_under_load_the_hpa_scales_up_and_back_down_losing_nothing(ingress):
    eventually(lambda: hpa_status().get("desiredReplicas") == 2 and len(ready_pods()) == 2, timeout=300, interval=2)
    load = Load(ingress)
    # the first writer and reader keep going through the scale-down; the rest only raise the CPU
    load.start(readers=1, writers=1)
    load.start(readers=8, writers=3)
    try:
        eventually(lambda: hpa_status().get("desiredReplicas", 0) >= 3, timeout=600, interval=2)
        eventually(lambda: len(ready_pods()) >= 3, timeout=300, interval=1)
        up = hpa_status()
        load.shed(keep=2, pause=1.0)
        eventually(lambda: hpa_status().get("desiredReplicas") == 2, timeout=600, interval=2)
        eventually(lambda: len(ready_pods()) == 2 and len(kube_json("-n", NS, "get", "pods", "-l",
                   "app.kubernetes.io/name=taskboard")["items"]) == 2, timeout=300, interval=1)
    finally:
        load.stop()
    print("\nHPA at the top:", json.dumps(up.get("currentMetrics")), "replicas", up.get("currentReplicas"))
    print("HPA events:\n  " + "\n  ".join(hpa_events()))
    assert not load.failures, load.failures[:10]
    total = sum(len(tasks) for tasks in load.completed.values())
    assert load.reads > 50 and total >= 5, (load.reads, total)
    # every completion's event became a notification in its user's inbox (none lost)
    for user, tasks in load.completed.items():
        eventually(lambda: user.unread() == len(tasks), timeout=180, interval=2)
