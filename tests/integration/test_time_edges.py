"""Times at the edges of the supported range (1970 to 9000, UTC) and series time zones, on the real stack.

Input outside the range gets a field error or a 422; a value stored outside it before the range was
checked still renders on every member's pages, and a series whose next occurrence leaves the range ends
without failing the event handler. A recurring task keeps its zone through an edit from another zone.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import Browser, eventually
from tests.integration.boards import board_task, create_board, invite, user_id_of
from tests.integration.test_api import make_token
from webapp import events
from webapp.tasks import service, store
from webapp.tasks.model import TaskFields

UTC = timezone.utc
RANGE_ERROR = "between 1970 and 9000 (UTC)"
STORED_BEFORE = {  # accepted before the range was checked
    "year 1 at +14:00": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    "9999-12-31 23:59 in New York": datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
}


def person(app, tz: str) -> Browser:
    browser = Browser(app.test_client())
    browser.register(tz=tz)
    return browser


def bearer(user: Browser) -> dict:
    return {"Authorization": f"Bearer {make_token(user)}"}


@pytest.fixture
def team(app):
    """A board of a New York owner with an editor in Berlin."""
    owner, editor = person(app, "America/New_York"), person(app, "Europe/Berlin")
    board_id = create_board(owner, "Time zones")
    assert invite(owner, board_id, editor, "editor").status_code == 302
    return owner, editor, board_id


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00-05:00", "1969-12-31T23:59:59Z"])
def test_the_api_answers_422_for_a_time_outside_the_range(app, value):
    user = person(app, "America/New_York")
    headers = bearer(user)
    resp = user.client.post("/api/v1/tasks", json={"title": "Edge", "due_at": value}, headers=headers)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    assert RANGE_ERROR in " ".join(resp.get_json()["errors"]["json"]["due_at"])
    created = user.client.post("/api/v1/tasks", json={"title": "Edge"}, headers=headers)
    task_id, etag = created.get_json()["id"], created.headers["ETag"]
    resp = user.client.put(f"/api/v1/tasks/{task_id}", json={"title": "Edge", "remind_at": value},
                           headers={**headers, "If-Match": etag})
    assert resp.status_code == 422 and RANGE_ERROR in " ".join(resp.get_json()["errors"]["json"]["remind_at"])
    assert user.get("/tasks").status_code == 200


def test_the_api_stores_and_answers_times_in_utc(app):
    user = person(app, "America/New_York")
    resp = user.client.post("/api/v1/tasks", json={"title": "Edge", "due_at": "9000-12-31T18:59:00-05:00"},
                            headers=bearer(user))
    assert resp.status_code == 201 and resp.get_json()["due_at"] == "9000-12-31T23:59:00+00:00"
    assert "Wed 31 Dec 9000, 18:59" in user.get(f"/tasks/{resp.get_json()['id']}").get_data(as_text=True)


@pytest.mark.parametrize("field", ["due_at", "remind_at"])
def test_the_form_shows_a_field_error_for_a_time_outside_the_range(app, field):
    user = person(app, "America/New_York")
    data = {"title": "Edge", "description": "", "status": "pending", "priority": "medium", "tags": "",
            "due_at": "", "remind_at": "", "recurrence": "none", field: "9999-12-31T23:59"}
    resp = user.form_post("/tasks/new", data)
    assert resp.status_code == 422 and RANGE_ERROR in resp.get_data(as_text=True)
    assert "No tasks yet" in user.get("/tasks").get_data(as_text=True)


def test_times_stored_outside_the_range_still_render_on_every_members_pages(app, team):
    owner, editor, board_id = team
    owner_id = user_id_of(owner)
    with app.app_context():
        planted = [service.create(owner_id, TaskFields(f"Stored {name}", due_at=value, remind_at=value,
                                                       recurrence="yearly"), "America/New_York", board_id=board)
                   for name, value in STORED_BEFORE.items() for board in (board_id, owner_id)]
    for task in planted:
        for member in (owner, editor) if task.board_id == board_id else (owner,):
            pages = [f"/tasks/{task.id}", f"/tasks/{task.id}/edit",
                     *([f"/boards/{board_id}", f"/tasks?board={board_id}", f"/tasks?board={board_id}&sort=due"]
                       if task.board_id == board_id else ["/tasks", "/tasks?sort=due"])]
            for page in pages:
                resp = member.get(page)
                assert resp.status_code == 200 and task.title in resp.get_data(as_text=True), (page, task.title)
        # Saving the edit form as shown asks for a time inside the range instead of failing.
        resp, _ = edit_as_shown(owner, task.id, title="Renamed", recurrence="yearly")
        assert resp.status_code == 422 and "Renamed" not in owner.get(f"/tasks/{task.id}").get_data(as_text=True)


def deliver(stack, data: dict) -> tuple[int, dict]:
    """Deliver a task event to the stack's web app as its sidecar does."""
    body = json.dumps({"id": data["event_id"], "data": data}).encode()
    req = urllib.request.Request(stack.url() + "/events/task-events", data=body, method="POST", headers={
        "Content-Type": "application/json", "dapr-api-token": stack.app_token})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, {"body": err.read().decode()[:500]}


def next_id(task_id: str, n: int = 1) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"taskboard:{task_id}:{n}").hex


@pytest.mark.parametrize("due", [datetime(9000, 6, 1, 9, tzinfo=UTC), datetime(9999, 6, 1, 9, tzinfo=UTC)])
def test_a_yearly_series_ends_where_its_next_occurrence_leaves_the_range(app, stack, gateway, due):
    user = person(app, "America/New_York")
    owner_id = user_id_of(user)
    with app.app_context():
        task = service.create(owner_id, TaskFields("Far future", due_at=due, recurrence="yearly"), "America/New_York")
    assert user.action(task.id, "complete").status_code == 302
    with app.app_context():
        done = store.load(owner_id, task.id)
        completion = events.task_event("task.completed", done, service.utcnow(), version=done.version,
                                       changes=["status"])
    assert deliver(stack, completion) == (200, {"status": "SUCCESS"})  # handled: not retried
    assert not gateway.get(store.task_key(next_id(task.id))).exists
    for page in ("/tasks", f"/tasks/{task.id}", f"/boards/{owner_id}"):
        assert user.get(page).status_code == 200, page


def edit_as_shown(user: Browser, task_id: str, **changes):
    """Submit the edit form with the values it shows, but ``changes``."""
    page = user.get(f"/tasks/{task_id}/edit").get_data(as_text=True)
    shown = {name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) for name in ("due_at", "remind_at", "version")}
    data = {"title": "A board task", "description": "", "status": "pending", "priority": "medium", "tags": "",
            "recurrence": "daily", **{name: m.group(1) if m else "" for name, m in shown.items()}, **changes}
    return user.form_post(f"/tasks/{task_id}/edit", data), data


def test_a_daily_series_edited_from_berlin_stays_at_9_in_new_york(app, team):
    owner, editor, board_id = team
    # 09:00 in New York the day before the US moves its clocks (Europe moves three weeks later).
    task_id = board_task(owner, board_id, title="Stand-up", due_at="2026-03-07T09:00", recurrence="daily")
    resp, sent = edit_as_shown(editor, task_id, title="Daily stand-up")
    assert resp.status_code == 302 and sent["due_at"] == "2026-03-07T15:00"  # as the Berlin editor sees it
    assert owner.action(task_id, "complete").status_code == 302
    headers = bearer(owner)
    following = eventually(lambda: (r := owner.client.get(f"/api/v1/tasks/{next_id(task_id)}", headers=headers))
                           .status_code == 200 and r.get_json())
    assert following["title"] == "Daily stand-up"
    assert following["due_at"] == "2026-03-08T13:00:00+00:00"  # Sunday 09:00 EDT


def test_a_series_edited_through_the_api_from_berlin_keeps_its_zone(app, team):
    owner, editor, board_id = team
    task_id = board_task(owner, board_id, title="Stand-up", due_at="2026-03-07T09:00", recurrence="daily")
    headers = bearer(editor)
    current = editor.client.get(f"/api/v1/tasks/{task_id}", headers=headers)
    body = {k: v for k, v in current.get_json().items()
            if k not in ("id", "created_at", "updated_at", "completed_at", "version")}
    resp = editor.client.put(f"/api/v1/tasks/{task_id}", json={**body, "priority": "high"},
                             headers={**headers, "If-Match": current.headers["ETag"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert owner.action(task_id, "complete").status_code == 302
    owner_headers = bearer(owner)
    following = eventually(lambda: (r := owner.client.get(f"/api/v1/tasks/{next_id(task_id)}",
                                                          headers=owner_headers)).status_code == 200 and r.get_json())
    assert following["due_at"] == "2026-03-08T13:00:00+00:00" and following["priority"] == "high"
