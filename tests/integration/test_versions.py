"""Task versions on the real sidecar: the version a client holds changes only when the task does.

The version (pages' hidden field, the API's ETag / If-Match) is the task's revision, not the
state ETag: a document rewritten without a change (an old layout's outbox cleared) must not make it stale.
"""

from __future__ import annotations

from collections import Counter

import pytest

from webapp import activity

from tests.conftest import eventually
from tests.faults.test_faults import Http
from tests.integration.test_api import make_token


@pytest.fixture
def http(user, stack):
    """The signed-in user's API token, over real HTTP to the stack's gunicorn."""
    client = Http(stack.url(), make_token(user, "versions"))
    with user.client.session_transaction() as session:
        client.user_id = session["profile"]["id"]
    return client


def test_editing_again_with_the_etag_just_received_always_succeeds(http):
    status, task, headers = http.call("POST", "/api/v1/tasks", {"title": "round 0"})
    assert status == 201
    etag, statuses = headers["ETag"], Counter()
    for n in range(1, 31):
        if n % 3:
            status, body, headers = http.call("PUT", f"/api/v1/tasks/{task['id']}", {"title": f"round {n}"},
                                              {"If-Match": etag})
        else:
            status, body, headers = http.call("PUT", f"/api/v1/tasks/{task['id']}/status",
                                              {"status": "completed" if n % 2 else "pending"}, {"If-Match": etag})
        statuses[status] += 1
        if status == 200:
            assert headers["ETag"] != etag  # a change is a new version
            etag = headers["ETag"]
    print(f"\nback-to-back edits with the ETag just received: {dict(statuses)}")
    assert statuses == Counter({200: 30})
    assert http.call("GET", f"/api/v1/tasks/{task['id']}")[2]["ETag"] == etag


def _pending_event(task: dict, user_id: str, event_id: str) -> dict:
    return {"event_id": event_id, "type": "task.updated", "task_id": task["id"], "user_id": user_id,
            "title": task["title"], "status": "pending", "priority": "medium",
            "timestamp": "2026-01-01T00:00:00+00:00", "version": "1", "changes": []}


def test_the_relay_publishes_without_making_a_version_stale(app, user, http, gateway):
    """The broker was down at the change: the relay publishes its event after the client read the task, and
    neither the task's document nor its version changes (the relay deletes the event's outbox item only)."""
    from webapp.tasks import outbox, store
    task = http.call("POST", "/api/v1/tasks", {"title": "Event still pending"})[1]
    item = gateway.get(store.task_key(task["id"]))
    gateway.save(store.outbox_key("relayed-later"), _pending_event(task, http.user_id, "relayed-later"))
    gateway.save(item.key, {**item.value, "outbox": ["relayed-later"]}, etag=item.etag)
    status, _, headers = http.call("GET", f"/api/v1/tasks/{task['id']}")
    page_version, before = user.version_of(task["id"]), gateway.get(item.key)
    with app.app_context():
        assert outbox.flush_board(http.user_id) == (1, 0)  # the relay: one sent, none left
        assert outbox.flush_board(http.user_id) == (0, 0)  # and only once
    assert not gateway.get(store.outbox_key("relayed-later")).exists
    assert gateway.get(item.key).etag == before.etag  # the document was not written again
    assert http.call("GET", f"/api/v1/tasks/{task['id']}")[2]["ETag"] == headers["ETag"]
    assert user.version_of(task["id"]) == page_version
    status, body, _ = http.call("PUT", f"/api/v1/tasks/{task['id']}", {"title": "Edited"},
                                {"If-Match": headers["ETag"]})
    assert (status, body["title"]) == (200, "Edited")
    assert eventually(lambda: "relayed-later" in [e["id"] for e in (gateway.get(
        activity.history_key(task["id"])).value or {}).get("items", [])])  # it was handled


def test_events_stored_whole_by_an_earlier_layout_are_migrated_then_relayed_version_kept(app, user, http, gateway):
    """A document written before outbox items (its events inside it) gets them as items; the relay publishes them."""
    from webapp.migrations import task_documents
    from webapp.tasks import outbox, store
    task = http.call("POST", "/api/v1/tasks", {"title": "Stored the old way"})[1]
    item = gateway.get(store.task_key(task["id"]))
    gateway.save(item.key, {**item.value, "outbox": [_pending_event(task, http.user_id, "old-layout")]},
                 etag=item.etag)
    etag = http.call("GET", f"/api/v1/tasks/{task['id']}")[2]["ETag"]
    with app.app_context():
        assert task_documents.migrate_board(http.user_id) >= 1
        assert gateway.get(item.key).value["outbox"] == ["old-layout"]
        assert outbox.flush_board(http.user_id) == (1, 0)
    assert not gateway.get(store.outbox_key("old-layout")).exists
    assert http.call("GET", f"/api/v1/tasks/{task['id']}")[2]["ETag"] == etag
    assert http.call("PUT", f"/api/v1/tasks/{task['id']}", {"title": "Edited"}, {"If-Match": etag})[0] == 200


def test_if_match_star_means_any_current_version(http):
    task = http.call("POST", "/api/v1/tasks", {"title": "Star"})[1]
    url = f"/api/v1/tasks/{task['id']}"
    status, body, headers = http.call("PUT", url, {"title": "Changed without reading"}, {"If-Match": "*"})
    assert (status, body["title"]) == (200, "Changed without reading")
    status, body, _ = http.call("PUT", f"{url}/status", {"status": "completed"}, {"If-Match": "*"})
    assert (status, body["status"], body["title"]) == (200, "completed", "Changed without reading")
    # A really stale version is still a conflict, and changes nothing.
    stale = http.call("PUT", url, {"title": "Lost"}, {"If-Match": '"1"'})
    assert stale[0] == 409 and http.call("GET", url)[1]["title"] == "Changed without reading"
    assert http.call("DELETE", url, headers={"If-Match": "*"})[0] == 204
    assert http.call("PUT", url, {"title": "Gone"}, {"If-Match": "*"})[0] == 404  # * needs a current version


def test_pages_and_api_show_the_same_version(user, http):
    status, task, headers = http.call("POST", "/api/v1/tasks", {"title": "Same version"})
    assert headers["ETag"] == f'"{user.version_of(task["id"])}"' == f'"{task["version"]}"'
    user.action(task["id"], "complete")
    assert http.call("GET", f"/api/v1/tasks/{task['id']}")[2]["ETag"] == f'"{user.version_of(task["id"])}"'


CALLS = ("get", "get_many", "save", "delete", "transact", "publish", "invoke", "schedule_job",
         "delete_job", "get_job", "invoke_binding", "secret", "metadata")
AUTH_KEYS = ("token:", "user:", "tokens-of:")  # the bearer token's check, not the task's work


@pytest.fixture
def sidecar_calls(gateway, monkeypatch):
    """Every call the in-process app makes to its sidecar, as (method, key) (the real calls still happen)."""
    calls: list[tuple[str, str]] = []
    for name in CALLS:
        real = getattr(gateway, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append((_name, str(args[0]) if args else ""))
            return _real(*args, **kwargs)
        monkeypatch.setattr(gateway, name, counted)
    return calls


def test_sidecar_calls_per_api_create_and_edit(user, sidecar_calls, gateway):
    headers = {"Authorization": f"Bearer {make_token(user, 'calls')}"}
    client = user.client

    def settled(task_id: str, events: int) -> None:
        """Wait until the task's events are handled (in its history), so no handler runs beside a count."""
        eventually(lambda: len((gateway.get(activity.history_key(task_id)).value or {}).get("items", [])) >= events,
                   timeout=30)

    def measured(call):
        sidecar_calls.clear()
        resp = call()
        # (a bulk read led by the token's key is the token's check, whatever it brings along)
        tasks = Counter(name for name, key in sidecar_calls if not key.lstrip("['").startswith(AUTH_KEYS))
        return resp, sum(tasks.values()), dict(tasks)

    first = client.post("/api/v1/tasks", json={"title": "The first"}, headers=headers)  # creates the index
    settled(first.get_json()["id"], 1)
    created, create_calls, create_detail = measured(
        lambda: client.post("/api/v1/tasks", json={"title": "Counted"}, headers=headers))
    task_id, etag = created.get_json()["id"], created.headers["ETag"]
    settled(task_id, 1)
    edited, edit_calls, edit_detail = measured(lambda: client.put(
        f"/api/v1/tasks/{task_id}", json={"title": "Counted twice"}, headers={**headers, "If-Match": etag}))
    settled(task_id, 2)
    done, status_calls, status_detail = measured(lambda: client.put(
        f"/api/v1/tasks/{task_id}/status", json={"status": "completed"},
        headers={**headers, "If-Match": edited.headers["ETag"]}))
    print(f"\nsidecar calls per API request, beyond the token check: create {create_calls} {create_detail}, "
          f"edit {edit_calls} {edit_detail}, status change {status_calls} {status_detail}")
    assert (created.status_code, edited.status_code, done.status_code) == (201, 200, 200)
    # create: the index read, ONE transaction (task, row, outbox item, empty history: its one guarded write is
    # the index, the rest are new keys), the publish;
    # edit / status: the access check's read (memberships, personal index; the task came with the token's
    # read), the commit (the task, its
    # only guarded write, with its outbox item), the row (its own guarded write: never in the task's
    # transaction, which Redis would half-apply), the publish. No read-back, no outbox-clearing write.
    # Each also writes the task's entry in its holder's "My tasks" (its own guarded write, after the commit),
    # read with the index (create) or in the access check's bulk read (edit, status).
    assert (create_calls, edit_calls, status_calls) == (4, 5, 5), (create_detail, edit_detail, status_detail)
    assert create_detail == {"get_many": 1, "transact": 1, "save": 1, "publish": 1}
    assert edit_detail == status_detail == {"get_many": 1, "transact": 1, "save": 2, "publish": 1}


def test_sidecar_calls_per_task_event_handled(app, user, sidecar_calls, gateway):
    """The task-events handler: one bulk read and one transaction; a completion adds the notification's call."""
    from datetime import datetime, timezone

    from webapp import background, events
    from webapp.tasks import store
    headers = {"Authorization": f"Bearer {make_token(user, 'handler')}"}
    created = user.client.post("/api/v1/tasks", json={"title": "Handled"}, headers=headers)
    task_id = created.get_json()["id"]
    done = user.client.put(f"/api/v1/tasks/{task_id}/status", json={"status": "completed"},
                           headers={**headers, "If-Match": created.headers["ETag"]})
    assert done.status_code == 200
    eventually(lambda: not gateway.get(store.outbox_key(  # the stack's subscriber has handled both events
        gateway.get(store.task_key(task_id)).value["outbox"][-1])).exists and len(
        (gateway.get(activity.history_key(task_id)).value or {}).get("items", [])) == 2, timeout=30)

    def handled(kind: str) -> dict:
        with app.app_context():
            task = store.load(store.board_of(gateway.get(store.task_key(task_id)).value), task_id)
            data = events.task_event(kind, task, datetime.now(timezone.utc), version=task.version)
            sidecar_calls.clear()
            background.STREAMS["task-events"].handle(data)
        return Counter(name for name, _ in sidecar_calls)

    assert handled("task.created") == Counter(get_many=1, transact=1)
    assert handled("task.completed") == Counter(get_many=1, transact=1, invoke=1)
