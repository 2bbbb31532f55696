""""My tasks" (``GET /my``) on the real stack: what is mine across boards, how it follows changes, what it costs,
how it is repaired, and the landing page and digest that use the same set."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from tests.conftest import Browser
from tests.integration.boards import board_task, create_board, invite, make_team, user_id_of
from tests.integration.test_list_reads import sidecar_calls  # noqa: F401  (a fixture)
from webapp.background import digests, sweep
from webapp.keys import my_tasks_key as my_key


def _section(html: str, name: str) -> str:
    """The HTML of one group of the page."""
    found = re.search(rf'<h2 id="group-\d">{name} <span class="count">\d+</span></h2>(.*?)</section>', html, re.S)
    assert found, f"no group {name}"
    return found.group(1)


def _edit(user: Browser, task_id: str, **fields):
    version = user.version_of(task_id)
    data = {"description": "",
            "status": "pending", "priority": "medium", "tags": "", "due_at": "", "remind_at": "",
            "recurrence": "none", "estimate": "", "assignee": "", "version": version, **fields}
    resp = user.form_post(f"/tasks/{task_id}/edit", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]


def test_my_tasks_are_assigned_to_me_or_mine_unassigned_across_boards_grouped_by_due(app):
    team = make_team(app, title="Owner's unassigned work")
    editor_id = user_id_of(team.editor)
    soon = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    late = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    board_task(team.owner, team.board_id, title="Handed to the editor", assignee=editor_id, due_at=soon)
    board_task(team.owner, team.board_id, title="Late for the editor", assignee=editor_id, due_at=late)
    team.editor.create_task(title="The editor's own errand")
    team.viewer.create_task(title="Not the editor's")

    html = team.editor.get("/my").get_data(as_text=True)
    assert "Handed to the editor" in _section(html, "Upcoming") and "Team board" in _section(html, "Upcoming")
    assert "Late for the editor" in _section(html, "Overdue")
    assert "The editor&#39;s own errand" in _section(html, "No date")
    assert "Owner&#39;s unassigned work" not in html and "Not the editor" not in html
    owner_page = team.owner.get("/my").get_data(as_text=True)
    assert "Owner&#39;s unassigned work" in owner_page and "Handed to the editor" not in owner_page


def test_an_entry_follows_reassignment_completion_and_removal_from_the_board(app, gateway):
    team = make_team(app)
    editor_id, viewer_id = user_id_of(team.editor), user_id_of(team.viewer)
    task_id = board_task(team.owner, team.board_id, title="Passed around", assignee=editor_id)
    assert "Passed around" in team.editor.get("/my").get_data(as_text=True)
    _edit(team.owner, task_id, title="Passed around", assignee=viewer_id)
    assert "Passed around" not in team.editor.get("/my").get_data(as_text=True)
    assert "Passed around" in team.viewer.get("/my").get_data(as_text=True)
    assert gateway.get(my_key(editor_id)).value["rows"][task_id][1]["deleted"] is True  # a tombstone, not a gap
    assert team.owner.action(task_id, "complete").status_code == 302
    assert "Passed around" not in team.viewer.get("/my").get_data(as_text=True)

    other = board_task(team.owner, team.board_id, title="Still assigned", assignee=viewer_id)
    version = re.search(r'name="version" value="([^"]*)"',
                        team.owner.get(f"/boards/{team.board_id}/members").get_data(as_text=True)).group(1)
    resp = team.owner.form_post(f"/boards/{team.board_id}/members/{viewer_id}/remove", {"version": version},
                                page_url=f"/boards/{team.board_id}/members")
    assert resp.status_code == 302
    assert "Still assigned" not in team.viewer.get("/my").get_data(as_text=True)
    rows = (gateway.get(my_key(viewer_id)).value or {}).get("rows", {})
    assert other not in rows and all(entry[0] != team.board_id for entry in rows.values())


def test_my_tasks_is_two_sidecar_calls_whatever_the_boards(app, sidecar_calls):  # noqa: F811
    team = make_team(app)
    editor_id = user_id_of(team.editor)
    for n in range(3):
        board_task(team.owner, team.board_id, title=f"Counted {n}", assignee=editor_id)
    other_board = create_board(team.owner, "Second board")
    assert invite(team.owner, other_board, team.editor, "editor").status_code == 302
    board_task(team.owner, other_board, title="On the second board", assignee=editor_id)
    sidecar_calls.clear()
    html = team.editor.get("/my").get_data(as_text=True)
    assert "On the second board" in html and "Counted 2" in html
    assert [name for name, _ in sidecar_calls] == ["get_many", "get_many"], sidecar_calls


def test_the_sweep_rebuilds_a_lost_entry_and_drops_one_of_a_board_left(app, gateway):
    team = make_team(app)
    editor_id = user_id_of(team.editor)
    task_id = board_task(team.owner, team.board_id, title="Lost and found", assignee=editor_id)
    gateway.delete(my_key(editor_id))  # the entry's write never happened (the process died after the commit)
    assert "Lost and found" not in team.editor.get("/my").get_data(as_text=True)
    with app.app_context():
        sweep.sweep_batch([user_id_of(team.owner)])  # the board's owner: the walk covers the boards they own
    assert "Lost and found" in team.editor.get("/my").get_data(as_text=True)
    stale = gateway.get(my_key(editor_id))
    rows = dict(stale.value["rows"])
    rows["0" * 32] = ["b_" + "0" * 32, rows[task_id][1], {}]  # an entry of a board they are not on
    gateway.save(my_key(editor_id), {**stale.value, "rows": rows}, etag=stale.etag)
    with app.app_context():
        sweep.sweep_batch([editor_id])
    assert "0" * 32 not in gateway.get(my_key(editor_id)).value["rows"]


def test_sign_in_lands_on_my_tasks_once_on_a_shared_board(app):
    team = make_team(app)
    alone = Browser(app.test_client())
    alone.register()
    for person, landing in ((team.editor, "/my"), (alone, "/tasks")):
        person.form_post("/logout", {}, page_url="/settings")
        resp = person.form_post("/login", {"username": person.username, "password": "correct horse battery"})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(landing), resp.headers


def test_the_digest_counts_my_tasks_on_every_board(app):
    team = make_team(app)
    editor_id = user_id_of(team.editor)
    due = datetime(2031, 5, 2, 9, 0, tzinfo=timezone.utc)
    board_task(team.owner, team.board_id, title="Shared and due", assignee=editor_id, due_at="2031-05-02T09:00")
    team.editor.create_task(title="Personal and due", due_at="2031-05-02T10:00")
    board_task(team.owner, team.board_id, title="Someone else's", due_at="2031-05-02T11:00")
    with app.app_context():
        assert digests.counts(editor_id, date(2031, 5, 2), "UTC", due - timedelta(hours=1)) == (2, 0)
