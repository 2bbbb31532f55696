"""Events, the notification round trip and the inbound Dapr routes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest

from tests.conftest import eventually
from webapp import keys
from webapp.tasks.model import TaskFields


def test_completion_notifies_through_notification_service_into_the_inbox(user):
    task_id = user.create_task(title="Ship it")
    user.action(task_id, "complete")
    # The unread count appears in the navigation once notification.sent reached the inbox.
    eventually(lambda: 'aria-label="1 unread"' in user.get("/tasks").get_data(as_text=True))
    inbox = user.get("/notifications").get_data(as_text=True)
    assert "“Ship it” was completed." in inbox and "New" in inbox
    # Opening the inbox marks nothing read; "Mark all read" does, and the badge is gone.
    assert 'aria-label="1 unread"' in user.get("/tasks").get_data(as_text=True)
    assert user.form_post("/notifications/read-all", {}, page_url="/notifications").status_code == 302
    assert 'class="badge"' not in user.get("/tasks").get_data(as_text=True)


def test_inbox_is_per_user(user, other_user):
    task_id = user.create_task(title="Mine only")
    user.action(task_id, "complete")
    eventually(lambda: "Mine only" in user.get("/notifications").get_data(as_text=True))
    assert "Mine only" not in other_user.get("/notifications").get_data(as_text=True)


def test_every_change_publishes_an_event_recorded_in_history(user):
    task_id = user.create_task(title="Tracked")
    user.form_post(f"/tasks/{task_id}/edit", {"title": "Tracked 2", "status": "pending", "priority": "low",
                                               "recurrence": "none", "version": user.version_of(task_id)})
    user.action(task_id, "complete")
    user.action(task_id, "reopen")
    def history():
        return user.get(f"/tasks/{task_id}").get_data(as_text=True).split("<h2>History</h2>", 1)[1]

    text = eventually(lambda: (lambda h: h.count("<strong>") >= 4 and h)(history()))
    labels = [part.split("</strong>")[0] for part in text.split("<strong>")[1:]]
    assert labels == ["Reopened", "Completed", "Edited", "Created"]


def _post(url, body, token=None):
    headers = {"content-type": "application/cloudevents+json"}
    if token:
        headers["dapr-api-token"] = token
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_inbound_routes_require_the_app_token(stack):
    base = stack.url()
    for path in ("/events/task-events", "/events/task-updates", "/job/reminder-x"):
        status, body = _post(base + path, {"id": "x", "data": {}})
        assert status == 401 and body["error"] == "unauthorized", path
    try:
        urllib.request.urlopen(base + "/dapr/subscribe", timeout=10)
    except urllib.error.HTTPError as err:
        assert err.code == 401
    else:
        raise AssertionError("/dapr/subscribe answered without the app token")


def test_subscriptions_are_listed_with_the_token_and_have_dead_letter_topics(stack):
    req = urllib.request.Request(stack.url() + "/dapr/subscribe", headers={"dapr-api-token": stack.app_token})
    with urllib.request.urlopen(req) as resp:
        subs = json.loads(resp.read())
    topics = {s["topic"]: s for s in subs}
    assert set(topics) == {"task-events", "task-updates", "task-events-deadletter", "task-updates-deadletter"}
    assert topics["task-events"]["deadLetterTopic"] == "task-events-deadletter"
    assert topics["task-updates"]["deadLetterTopic"] == "task-updates-deadletter"
    assert topics["task-updates-deadletter"]["route"] == "/events/dead-letters"


def test_malformed_events_are_dropped_and_duplicates_have_one_effect(stack, gateway):
    url = stack.url() + "/events/task-updates"
    status, body = _post(url, {"id": "bad-1", "data": {"type": "notification.sent"}}, stack.app_token)
    assert status == 200 and body["status"] == "DROP"
    status, body = _post(url, {"id": "bad-2", "data": "not an object"}, stack.app_token)
    assert body["status"] == "DROP"
    user_id = f"probe-{uuid.uuid4().hex}"
    event = {"id": uuid.uuid4().hex, "data": {"type": "notification.sent", "notification_id": "n-1",
                                              "user_id": user_id, "message": "once"}}
    for _ in range(3):
        assert _post(url, event, stack.app_token)[1]["status"] == "SUCCESS"
    # The same notification under a new CloudEvent id (a redelivery by another path) is still one entry.
    assert _post(url, {**event, "id": uuid.uuid4().hex}, stack.app_token)[1]["status"] == "SUCCESS"
    inbox = gateway.get(f"inbox:{user_id}").value["items"]
    assert [i["message"] for i in inbox] == ["once"]


def test_dropped_events_reach_the_dead_letter_page_and_can_be_replayed(app, user, other_user, gateway):
    event_id = uuid.uuid4().hex
    gateway.publish(app.config["TASK_UPDATES_TOPIC"],
                    {"event_id": event_id, "type": "notification.sent", "user_id": "x"},  # no message: malformed
                    {"cloudevent.id": event_id})

    def letter():
        items = (gateway.get("dead-letters").value or {}).get("items", [])
        return next((i for i in items if i["id"] == event_id), None)

    first = eventually(letter)
    assert first["original_topic"] == "task-updates" and first["attempts"] == 1
    assert other_user.get("/admin/dead-letters").status_code == 404  # not an admin: no such page
    assert app.test_cli_runner().invoke(args=["grant-admin", user.username]).exit_code == 0
    page = user.get("/admin/dead-letters").get_data(as_text=True)
    assert event_id in page
    resp = user.form_post(f"/admin/dead-letters/{event_id}/replay", {}, page_url="/admin/dead-letters")
    assert resp.status_code == 302
    # Still malformed, so it is dropped again and comes back: the replay really went through the topic.
    again = eventually(lambda: (lambda l: l and l["received_at"] != first["received_at"] and l)(letter()))
    assert again["original_topic"] == "task-updates"


def _task_event(**fields):
    return {"event_id": uuid.uuid4().hex, "type": "task.updated", "task_id": uuid.uuid4().hex,
            "user_id": f"probe-{uuid.uuid4().hex}", "title": "t", "status": "pending", "priority": "low",
            "timestamp": "2026-03-01T12:00:00+00:00", "version": "1", "changes": [], **fields}


def test_a_task_event_without_a_timestamp_is_dropped_not_retried(stack, gateway):
    url = stack.url() + "/events/task-events"
    no_time = _task_event()
    del no_time["timestamp"]
    for data in (no_time, _task_event(timestamp="last tuesday"), _task_event(changes="title")):
        status, body = _post(url, {"id": data["event_id"], "data": data}, stack.app_token)
        assert (status, body["status"]) == (200, "DROP"), data
        assert not gateway.get(f"activity:{data['task_id']}").exists


def redis_ttl(stack, app_id: str, key: str) -> int:
    """Seconds until a state key expires (-1: never, -2: no such key), read from the stack's store."""
    return stack.ttl_of(key, app_id)


def test_a_deleted_tasks_history_stays_with_its_tombstone_and_an_undo_keeps_it(app, stack, user, gateway):
    """No expiry is ever set on the history: it goes with its tombstone when the sweep purges it (test_lost_races)."""
    from webapp.tasks import service
    task_id = user.create_task(title="Short-lived")
    eventually(lambda: gateway.get(f"activity:{task_id}").exists)
    assert redis_ttl(stack, "taskboard", f"activity:{task_id}") == -1
    assert user.action(task_id, "delete").status_code == 302
    eventually(lambda: "task.deleted" in [e["type"] for e in gateway.get(f"activity:{task_id}").value["items"]])
    assert redis_ttl(stack, "taskboard", f"activity:{task_id}") == -1
    with user.client.session_transaction() as session:
        user_id = session["profile"]["id"]
    with app.app_context():
        service.restore(user_id, task_id)
    eventually(lambda: [e["type"] for e in gateway.get(f"activity:{task_id}").value["items"]].count("task.created")
               == 2)
    assert redis_ttl(stack, "taskboard", f"activity:{task_id}") == -1  # created, deleted, restored


def test_a_late_event_of_a_deleted_task_does_not_bring_its_history_back(app, user, gateway):
    """E.g. an edit's event answered RETRY, redelivered after the task was deleted and its history expired."""
    from webapp import events as built
    from webapp.tasks import service, store
    with user.client.session_transaction() as session:
        user_id = session["profile"]["id"]
    with app.app_context():
        task = service.create(user_id, TaskFields("Gone soon"))
        service.delete(user_id, task.id, store.load(user_id, task.id).version)
    eventually(lambda: "task.deleted" in [e["type"] for e in
                                          (gateway.get(f"activity:{task.id}").value or {}).get("items", [])])
    gateway.delete(f"activity:{task.id}")  # its TTL ran out
    late = _task_event(task_id=task.id, user_id=user_id)
    gateway.publish(app.config["TASK_EVENTS_TOPIC"], late, built.publish_metadata(late))
    eventually(lambda: gateway.get(f"processed:task-events:{late['event_id']}").exists)
    assert not gateway.get(f"activity:{task.id}").exists


def _append_to_a_list(key: str, n: int) -> bool:
    from webapp import state_lists
    return state_lists.append(f"activity:{key}", {"id": f"e{n}"}, limit=100)


def _append_to_an_inbox(key: str, n: int) -> bool:
    from webapp.notifications import inbox
    return inbox.append(key, {"id": f"e{n}", "message": "m", "read": False})


def _listed(gateway, kind: str, key: str) -> set[str]:
    from webapp.notifications import inbox
    stored_at = f"activity:{key}" if kind == "list" else keys.inbox_key(key)
    return {e["id"] for e in gateway.get(stored_at).value["items"]}


@pytest.mark.parametrize("kind", ["list", "inbox"])
def test_concurrent_first_appends_to_a_new_list_lose_nothing(app, gateway, kind):
    """A new task's first events, a new user's first notifications: the list or inbox does not exist yet."""
    from concurrent.futures import ThreadPoolExecutor

    from webapp.dapr_gateway import Conflict
    append_to = _append_to_a_list if kind == "list" else _append_to_an_inbox
    lost_races = 0
    for _ in range(5):
        key = f"probe-{uuid.uuid4().hex}"

        def append(i):
            with app.app_context():
                try:
                    return i if append_to(key, i) else None
                except Conflict:  # kept conflicting through every retry: reported, not lost silently
                    return None

        with ThreadPoolExecutor(max_workers=8) as pool:
            stored = {f"e{i}" for i in pool.map(append, range(8)) if i is not None}
        assert stored, "no append succeeded"
        lost_races += len(stored - _listed(gateway, kind, key))
    assert lost_races == 0
