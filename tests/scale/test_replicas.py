"""Two replicas of each app behind HAProxy: one URL, sessions shared, Dapr-only routes blocked,
health checks route around a stopped replica, invocation and events spread with one effect each."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from tests.conftest import eventually
from tests.deploy.test_exposure import inbound_paths
from tests.scale.conftest import WebUser


def served_by(user: WebUser, path: str, times: int) -> Counter:
    return Counter(user.request(path)[1]["X-Served-By"] for _ in range(times))


def test_the_proxy_spreads_pages_over_both_replicas(replicas):
    spread = served_by(WebUser(replicas.url()), "/login", 10)
    assert set(spread) == {"taskboard", "taskboard-2"}, spread


def test_the_proxy_answers_403_to_every_inbound_dapr_route(replicas):
    user = WebUser(replicas.url())
    answers = {path: user.request(path, {} if method == "POST" else None)[0]
               for path, (_endpoint, method) in inbound_paths().items()}
    assert answers and all(status == 403 for status in answers.values()), answers


def test_a_session_and_its_csrf_token_made_on_one_replica_work_on_the_other(replicas):
    first, second = (f"http://127.0.0.1:{ports.app}" for ports in replicas.ports.replicas("taskboard").values())
    user = WebUser(first)
    user.register()
    status, _, html = user.request("/tasks/new")  # the form and its token from the first replica
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    status, headers, body = user.request("/tasks/new", {
        "csrf_token": token, "title": "Made across replicas", "description": "", "status": "pending",
        "priority": "medium", "tags": "", "due_at": "", "remind_at": "", "recurrence": "none"}, base=second)
    assert status == 302, body[:1000]
    status, _, page = user.request(headers["Location"].replace(second, ""), base=first)
    assert status == 200 and "Made across replicas" in page


def _deliveries_of(replicas, task_id: str) -> list[dict]:
    found = []
    for path in Path(replicas.run_dir, "deliveries").glob("*.json"):
        document = json.loads(path.read_text())
        if document.get("task_id") == task_id:
            found.append(document)
    return found


def test_a_completion_through_the_proxy_has_each_effect_once(replicas, gateway):
    """Delivery, inbox entry, history entry and the next instance of a repeating task: once each."""
    user = WebUser(replicas.url())
    user.register()
    task_id = user.create_task("Complete me once", due_at="2031-05-01T09:00", recurrence="weekly")
    status, _, html = user.request(f"/tasks/{task_id}")
    version = re.search(r'name="version" value="([^"]*)"', html).group(1)
    status, _, _ = user.form_post(f"/tasks/{task_id}/complete", {"version": version}, page=f"/tasks/{task_id}")
    assert status == 302
    delivered = eventually(lambda: _deliveries_of(replicas, task_id), timeout=60)
    user_id = delivered[0]["user_id"]
    eventually(lambda: any(e.get("task_id") == task_id for e in
                           (gateway.get(f"inbox:{user_id}").value or {}).get("items", [])), timeout=30)
    time.sleep(5)  # room for a second delivery on the other replica, if one were coming
    history = Counter(e["type"] for e in gateway.get(f"activity:{task_id}").value["items"])
    inbox = [e for e in gateway.get(f"inbox:{user_id}").value["items"] if e.get("task_id") == task_id]
    assert len(_deliveries_of(replicas, task_id)) == 1
    assert len(inbox) == 1
    assert history["task.completed"] == 1 and history["task.created"] == 1, history
    eventually(lambda: len(gateway.get(f"tasks-of:{user_id}").value["ids"]) >= 2, timeout=30)
    time.sleep(2)
    listed = gateway.get(f"tasks-of:{user_id}").value["ids"]
    assert len(listed) == 2, listed  # the task and exactly one next weekly instance


def _notifications_logged(replicas, instance: str) -> int:
    """How many /notify calls the instance's request log shows as answered 200."""
    log = replicas.logs_dir / f"{instance}.log"
    return log.read_text(errors="replace").count("POST /notify 200")


def test_invocation_spreads_over_both_notification_service_replicas(replicas):
    names = list(replicas.ports.replicas("notification-service"))
    before = {name: _notifications_logged(replicas, name) for name in names}
    sidecar = f"http://127.0.0.1:{replicas.ports.apps['taskboard'].http}"
    for n in range(20):
        body = {"notification_id": f"spread-{uuid.uuid4().hex}", "user_id": "scale-probe", "kind": "info",
                "message": f"spread probe {n}"}
        request = urllib.request.Request(f"{sidecar}/v1.0/invoke/notification-service/method/notify",
                                         data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    time.sleep(1)
    spread = {name: _notifications_logged(replicas, name) - before[name] for name in names}
    assert sum(spread.values()) == 20 and all(n > 0 for n in spread.values()), spread


def test_a_stopped_replica_leaves_the_rotation_and_comes_back(replicas):
    user = WebUser(replicas.url())
    replicas.stop("taskboard-2")
    try:
        answers = [user.request("/login") for _ in range(20)]
        assert [status for status, _, _ in answers] == [200] * 20
        assert {headers["X-Served-By"] for _, headers, _ in answers} == {"taskboard"}
    finally:
        replicas.restart("taskboard-2")
    eventually(lambda: "taskboard-2" in served_by(user, "/login", 4), timeout=60)
