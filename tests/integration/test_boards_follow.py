"""Assignment, watching, open pages learning of changes, and who-did-what activity, on the real stack."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import eventually
from tests.integration.boards import make_team, user_id_of
from tests.integration.test_api import make_token


@pytest.fixture
def team(app):
    return make_team(app)


def _edit(user, task_id, **fields):
    """Submit the task's edit form as it is, with ``fields`` changed."""
    html = user.get(f"/tasks/{task_id}/edit").get_data(as_text=True)
    data = {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}
    for name in ("status", "priority", "recurrence", "assignee"):
        chosen = re.search(rf'<select[^>]*name="{name}".*?<option[^>]*selected[^>]*value="([^"]*)"', html, re.S) \
            or re.search(rf'<select[^>]*name="{name}".*?<option[^>]*value="([^"]*)"[^>]*selected', html, re.S)
        data[name] = chosen.group(1) if chosen else ""
    data["description"] = ""
    data.update(fields)
    return user.form_post(f"/tasks/{task_id}/edit", data)


def _inbox(user) -> str:
    return user.get("/notifications").get_data(as_text=True)


def test_a_task_is_assigned_to_a_member_and_the_assignee_hears_of_it(team):
    editor_id = user_id_of(team.editor)
    form = team.owner.get(f"/tasks/{team.task_id}/edit").get_data(as_text=True)
    assert f'<option value="{editor_id}">{team.editor.username}</option>' in form  # members offered by name
    assert _edit(team.owner, team.task_id, assignee=editor_id).status_code == 302
    board = team.viewer.get(f"/boards/{team.board_id}").get_data(as_text=True)
    assert f"@{team.editor.username}" in board  # the card names the assignee (from the index row + board record)
    detail = team.viewer.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    assert f"<dt>Assignee</dt><dd>{team.editor.username}</dd>" in detail
    message = f"{team.owner.username} assigned “Shared work” to you."
    eventually(lambda: message in _inbox(team.editor))
    assert message not in _inbox(team.owner) and "assigned" not in _inbox(team.viewer)


def test_assigning_someone_not_on_the_board_is_a_field_error(team):
    outsider_id = user_id_of(team.outsider)
    resp = _edit(team.owner, team.task_id, assignee=outsider_id)
    assert resp.status_code == 422 and "Choose a member of this board." in resp.get_data(as_text=True)
    assert team.outsider.username not in team.owner.get(f"/tasks/{team.task_id}").get_data(as_text=True)


def test_watchers_and_the_assignee_hear_of_a_completion_by_someone_else_but_not_the_one_who_did_it(team):
    viewer_id = user_id_of(team.viewer)
    assert _edit(team.owner, team.task_id, assignee=viewer_id).status_code == 302
    # The editor opts in (Watch), then stops; the owner (the creator) watches without asking.
    page = team.editor.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    assert ">Watch</button>" in page
    watch = team.editor.form_post(f"/tasks/{team.task_id}/watch", {"watch": "1"}, page_url=f"/tasks/{team.task_id}")
    assert watch.status_code == 302
    assert ">Stop watching</button>" in team.editor.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    assert ">Stop watching</button>" in team.owner.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    assert team.editor.action(team.task_id, "complete").status_code == 302
    done = f"“Shared work” was completed by {team.editor.username}."
    eventually(lambda: done in _inbox(team.owner) and done in _inbox(team.viewer))
    assert "was completed" not in _inbox(team.editor)  # the editor did it
    assert "was completed" not in _inbox(team.outsider)


def test_someone_who_stops_watching_hears_nothing_more(team):
    stop = team.owner.form_post(f"/tasks/{team.task_id}/watch", {"watch": "0"}, page_url=f"/tasks/{team.task_id}")
    assert stop.status_code == 302
    assert ">Watch</button>" in team.owner.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    team.viewer.form_post(f"/tasks/{team.task_id}/watch", {"watch": "1"}, page_url=f"/tasks/{team.task_id}")
    assert team.editor.action(team.task_id, "complete").status_code == 302
    eventually(lambda: "was completed by" in _inbox(team.viewer))
    assert "was completed" not in _inbox(team.owner)


def test_the_api_assigns_with_the_same_etag_rules_and_refuses_a_non_member(team, app):
    token = make_token(team.owner)
    auth = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    got = client.get(f"/api/v1/tasks/{team.task_id}", headers=auth)
    body = {k: got.json[k] for k in ("title", "description", "status", "priority", "tags", "due_at", "remind_at",
                                      "recurrence", "estimate")}
    editor_id, outsider_id = user_id_of(team.editor), user_id_of(team.outsider)
    assert client.put(f"/api/v1/tasks/{team.task_id}", json={**body, "assignee": editor_id},
                      headers=auth).status_code == 428
    refused = client.put(f"/api/v1/tasks/{team.task_id}", json={**body, "assignee": outsider_id},
                         headers={**auth, "If-Match": got.headers["ETag"]})
    assert refused.status_code == 422 and "assignee" in refused.json["errors"]["json"]
    done = client.put(f"/api/v1/tasks/{team.task_id}", json={**body, "assignee": editor_id},
                      headers={**auth, "If-Match": got.headers["ETag"]})
    assert done.status_code == 200 and done.json["assignee"] == editor_id
    stale = client.put(f"/api/v1/tasks/{team.task_id}", json={**body, "assignee": None},
                       headers={**auth, "If-Match": got.headers["ETag"]})
    assert stale.status_code == 409
    doc = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert "assignee" in doc["TaskIn"]["properties"] and "member" in doc["TaskIn"]["properties"]["assignee"][
        "description"]


def test_an_open_page_polls_the_boards_change_counter_answered_304_until_someone_changes_it(team):
    url = f"/boards/{team.board_id}/changes"
    # Once the task's creation has reached the feed, nothing else changes the board until the move.
    first = eventually(lambda: (r := team.viewer.get(url)).status_code == 200 and r.json["seq"] >= 1 and r)
    assert first.headers["ETag"]
    etag = first.headers["ETag"]
    assert team.viewer.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert team.outsider.get(url).status_code == 404
    page = team.viewer.get(f"/boards/{team.board_id}").get_data(as_text=True)
    assert f'data-url="{url}"' in page and "changes.js" in page
    seq = first.json["seq"]
    version = team.editor.version_of(team.task_id)
    team.editor.form_post(f"/tasks/{team.task_id}/move", {"version": version, "status": "in_progress"},
                          page_url=f"/boards/{team.board_id}")
    moved = "moved “Shared work” to In progress"
    changed = eventually(lambda: (r := team.viewer.get(url, headers={"If-None-Match": etag})).status_code == 200
                         and any(i["what"] == moved for i in r.json["items"]) and r)
    assert changed.json["seq"] > seq  # (the task's creation may also have arrived since the first poll)
    newest = next(i for i in changed.json["items"] if i["what"] == moved)
    assert newest["actor"] == team.editor.username and newest["actor_id"] == user_id_of(team.editor)
    assert newest["what"] == "moved “Shared work” to In progress" and newest["task_id"] == team.task_id


def test_activity_names_who_did_what_on_the_task_and_on_the_board(team):
    assert team.editor.action(team.task_id, "complete").status_code == 302
    eventually(lambda: f"<strong>Completed</strong> by {team.editor.username}"
               in team.viewer.get(f"/tasks/{team.task_id}").get_data(as_text=True))
    board = team.viewer.get(f"/boards/{team.board_id}").get_data(as_text=True)
    recent = board.split("Recent activity")[1]
    assert f"<strong>{team.editor.username}</strong> completed “Shared work”" in recent
    assert f"<strong>{team.owner.username}</strong> created “Shared work”" in recent


def test_a_reminder_or_overdue_alert_reaches_every_follower_on_the_board(team, app):
    """followers.notify_followers: what webapp/background/reminders.py and overdue.py call to notify more than the creator."""
    import uuid

    from webapp.boards import followers
    from webapp.tasks import store

    team.viewer.form_post(f"/tasks/{team.task_id}/watch", {"watch": "1"}, page_url=f"/tasks/{team.task_id}")
    message = f"Reminder: “Shared work” {uuid.uuid4().hex[:6]}."
    with app.app_context():
        task = store.load(team.board_id, team.task_id)
        sent = followers.notify_followers(task, f"reminder-{uuid.uuid4().hex}", "task.reminder", message)
    assert len(sent) == 2  # the creator (the owner) and the viewer who watches
    eventually(lambda: message in _inbox(team.owner) and message in _inbox(team.viewer))
    assert message not in _inbox(team.editor) and message not in _inbox(team.outsider)


def test_an_overdue_job_on_a_shared_board_alerts_the_creator_and_the_watchers(team, app):
    """webapp/background/overdue.py fires through followers: the job reads the task on its board and tells every follower."""
    from webapp.background import overdue
    from webapp.tasks import store

    team.editor.form_post(f"/tasks/{team.task_id}/watch", {"watch": "1"}, page_url=f"/tasks/{team.task_id}")
    with app.app_context():
        task = store.load(team.board_id, team.task_id)
        late = dataclasses.replace(task, due_at=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1))
        overdue.alert(late)
    expected = f"“{task.title}” is overdue"
    eventually(lambda: expected in _inbox(team.owner) and expected in _inbox(team.editor))
    assert expected not in _inbox(team.viewer) and expected not in _inbox(team.outsider)


def test_people_removed_from_a_board_hear_no_reminder_or_overdue_alert_of_its_tasks(team, app, stack, gateway):
    """The task's creator (its only watcher) and its assignee leave the board: its jobs fire to no one."""
    import json
    import urllib.request
    from pathlib import Path

    from tests.integration.boards import board_task, board_version
    from webapp.background import overdue, reminders
    from webapp.tasks import store

    editor_id, viewer_id = user_id_of(team.editor), user_id_of(team.viewer)
    task_id = board_task(team.editor, team.board_id, title="Left behind", assignee=viewer_id,
                         due_at="2030-05-01T09:30", remind_at="2030-05-01T09:00")
    for removed in (editor_id, viewer_id):
        resp = team.owner.form_post(f"/boards/{team.board_id}/members/{removed}/remove",
                                    {"version": board_version(team.owner, team.board_id)},
                                    page_url=f"/boards/{team.board_id}/members")
        assert resp.status_code == 302
    with app.app_context():
        task = store.load(team.board_id, task_id)
    jobs = {reminders.job_name(task_id): {"kind": "reminder", "task_id": task_id, "user_id": editor_id,
                                          "board_id": team.board_id, "remind_at": task.remind_at.isoformat()},
            overdue.job_name(task_id): overdue.job_data(editor_id, task)}
    for name, data in jobs.items():  # as the scheduler fires them: the handler has sent all it sends on return
        req = urllib.request.Request(stack.url() + f"/job/{name}", data=json.dumps(data).encode(), method="POST",
                                     headers={"dapr-api-token": stack.app_token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert json.loads(resp.read())["status"] == "notified"
    deliveries = Path(stack.run_dir, "deliveries")
    for person in (editor_id, viewer_id):
        assert not list(deliveries.glob(f"{person}-*{task_id}*.json"))
    for person in (team.editor, team.viewer):
        inbox = _inbox(person)
        assert "Reminder: “Left behind”" not in inbox and "“Left behind” is overdue" not in inbox


@pytest.mark.parametrize("removed", [False, True])
def test_a_completion_handled_after_its_task_is_gone_reaches_its_creator_only_while_on_the_board(
        team, stack, removed):
    """The completion's event is handled after the task was deleted (the notifier was down meanwhile): its
    creator hears of it if still a member; someone removed from the board before the change hears nothing."""
    import uuid
    from pathlib import Path

    from tests.integration.boards import board_task, board_version
    from tests.integration.test_events_and_inbox import _post

    editor_id = user_id_of(team.editor)
    task_id = board_task(team.editor, team.board_id, title="Done and gone")
    if removed:
        resp = team.owner.form_post(f"/boards/{team.board_id}/members/{editor_id}/remove",
                                    {"version": board_version(team.owner, team.board_id)},
                                    page_url=f"/boards/{team.board_id}/members")
        assert resp.status_code == 302
    assert team.owner.action(task_id, "delete").status_code == 302
    event_id = uuid.uuid4().hex
    completed = {"event_id": event_id, "type": "task.completed", "task_id": task_id, "user_id": editor_id,
                 "board_id": team.board_id, "actor_id": user_id_of(team.owner), "title": "Done and gone",
                 "status": "completed", "priority": "medium", "timestamp": datetime.now(timezone.utc).isoformat(),
                 "version": "2", "changes": ["status"]}
    status, _ = _post(stack.url() + "/events/task-events", {"id": event_id, "data": completed}, stack.app_token)
    assert status == 200  # handled: the handler has sent all it sends on return
    delivered = list(Path(stack.run_dir, "deliveries").glob(f"{editor_id}-{event_id}-*.json"))
    assert bool(delivered) is not removed
