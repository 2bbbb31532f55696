"""Boards on the real stack: members and roles, the board view, moving cards, and the personal board."""

from __future__ import annotations

import re

import pytest

from tests.conftest import eventually
from tests.integration.boards import (board_task, board_version, create_board, invite, make_team,
                                      user_id_of)


@pytest.fixture
def team(app):
    return make_team(app)


def _move(user, task_id, status, version, board_id):
    return user.form_post(f"/tasks/{task_id}/move", {"version": version, "status": status,
                                                      "next": f"/boards/{board_id}"}, page_url=f"/boards/{board_id}")


def test_a_board_shows_its_tasks_in_columns_to_every_member(team):
    for role in ("owner", "editor", "viewer"):
        page = team.as_role(role).get(f"/boards/{team.board_id}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, role
        pending = html.split('id="col-pending"')[1].split('id="col-in_progress"')[0]
        assert "Shared work" in pending, role
        assert ("Move “Shared work” to In progress" in html) == (role != "viewer"), role
    assert team.outsider.get(f"/boards/{team.board_id}").status_code == 404


def test_moving_a_card_changes_its_status_and_a_stale_move_is_a_conflict(team):
    version = team.editor.version_of(team.task_id)
    moved = _move(team.editor, team.task_id, "in_progress", version, team.board_id)
    assert moved.status_code == 302 and moved.headers["Location"] == f"/boards/{team.board_id}"
    html = team.owner.get(f"/boards/{team.board_id}").get_data(as_text=True)
    column = html.split('id="col-in_progress"')[1].split('id="col-completed"')[0]
    assert "Shared work" in column
    stale = _move(team.owner, team.task_id, "completed", version, team.board_id)
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "This task was changed while you were working on it" in body
    assert "Move it now" in body and "In progress" in body
    assert 'value="completed"' in body  # the conflict page offers the move again, at the current version


def test_a_viewer_reads_but_gets_403_on_every_change(team):
    viewer, task_id = team.viewer, team.task_id
    page = viewer.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Shared work" in page and ">Edit<" not in page and ">Complete<" not in page
    version = team.owner.version_of(task_id)
    assert viewer.get(f"/tasks/{task_id}/edit").status_code == 403
    for action in ("complete", "delete"):
        assert viewer.action(task_id, action, version).status_code == 403, action
    assert _move(viewer, task_id, "completed", version, team.board_id).status_code == 403
    assert viewer.get(f"/tasks/new?board={team.board_id}").status_code == 403
    assert team.owner.version_of(task_id) == version  # nothing changed


def test_an_editor_creates_edits_completes_and_deletes_board_tasks(team):
    task_id = board_task(team.editor, team.board_id, title="Made by the editor")
    assert "Made by the editor" in team.viewer.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert team.editor.action(task_id, "complete").status_code == 302
    deleted = team.editor.action(task_id, "delete")
    assert deleted.status_code == 302 and deleted.headers["Location"] == f"/boards/{team.board_id}"
    assert team.owner.get(f"/tasks/{task_id}").status_code == 404


def test_the_owner_changes_roles_removes_members_and_the_last_owner_cannot_leave(team):
    editor_id = user_id_of(team.editor)
    resp = team.owner.form_post(f"/boards/{team.board_id}/members/{editor_id}/role",
                                {"role": "viewer", "version": board_version(team.owner, team.board_id)},
                                page_url=f"/boards/{team.board_id}/members")
    assert resp.status_code == 302
    assert team.editor.get(f"/tasks/{team.task_id}/edit").status_code == 403
    leave = team.owner.form_post(f"/boards/{team.board_id}/leave",
                                 {"version": board_version(team.owner, team.board_id)},
                                 page_url=f"/boards/{team.board_id}/members")
    assert leave.status_code == 422 and "The last owner cannot leave" in leave.get_data(as_text=True)
    removed = team.owner.form_post(f"/boards/{team.board_id}/members/{editor_id}/remove",
                                   {"version": board_version(team.owner, team.board_id)},
                                   page_url=f"/boards/{team.board_id}/members")
    assert removed.status_code == 302
    assert team.editor.get(f"/tasks/{team.task_id}").status_code == 404
    assert team.editor.get(f"/boards/{team.board_id}").status_code == 404
    assert "Team board" not in team.editor.get("/boards").get_data(as_text=True)


def test_a_member_leaves_and_a_stale_membership_change_is_a_conflict(team):
    stale = board_version(team.owner, team.board_id)
    left = team.viewer.form_post(f"/boards/{team.board_id}/leave", {"version": board_version(team.viewer, team.board_id)},
                                 page_url=f"/boards/{team.board_id}/members")
    assert left.status_code == 302
    assert team.viewer.get(f"/tasks/{team.task_id}").status_code == 404
    editor_id = user_id_of(team.editor)
    resp = team.owner.form_post(f"/boards/{team.board_id}/members/{editor_id}/role",
                                {"role": "owner", "version": stale}, page_url=f"/boards/{team.board_id}/members")
    assert resp.status_code == 409
    assert team.editor.get(f"/tasks/{team.task_id}/edit").status_code == 200  # still an editor


def test_inviting_an_unknown_or_present_user_rerenders_with_an_error(team, app):
    page = f"/boards/{team.board_id}/members"
    unknown = team.owner.form_post(page, {"username": "nobody-by-this-name", "role": "editor",
                                          "version": board_version(team.owner, team.board_id)})
    assert unknown.status_code == 422 and "No one has this username." in unknown.get_data(as_text=True)
    again = invite(team.owner, team.board_id, team.editor, "viewer")
    assert again.status_code == 422 and "already a member" in again.get_data(as_text=True)
    assert team.editor.get(f"/tasks/{team.task_id}/edit").status_code == 200  # still an editor


def test_a_board_with_tasks_cannot_be_deleted_an_empty_one_can(user):
    board_id = create_board(user, "Short-lived")
    task_id = board_task(user, board_id, title="Blocks deletion")
    refused = user.form_post(f"/boards/{board_id}/delete", {"version": board_version(user, board_id)},
                             page_url=f"/boards/{board_id}/members")
    assert refused.status_code == 422 and "cannot be deleted" in refused.get_data(as_text=True)
    user.action(task_id, "delete")
    done = user.form_post(f"/boards/{board_id}/delete", {"version": board_version(user, board_id)},
                          page_url=f"/boards/{board_id}/members")
    assert done.status_code == 302
    assert user.get(f"/boards/{board_id}").status_code == 404
    assert "Short-lived" not in user.get("/boards").get_data(as_text=True)


def test_the_personal_board_is_todays_list(user, owner, gateway):
    task_id = user.create_task(title="Old habits")
    assert not gateway.get(f"board:{owner}").exists  # nothing written until the boards page is visited
    html = user.get(f"/boards/{owner}").get_data(as_text=True)
    assert "Old habits" in html and "Personal" in html
    assert "Personal" in user.get("/boards").get_data(as_text=True)
    assert gateway.get(f"board:{owner}").value["members"][owner]["role"] == "owner"
    assert gateway.get(f"boards-of:{owner}").value["boards"][owner] == {"role": "owner", "name": "Personal"}
    stored = gateway.get(f"task:{task_id}").value
    assert stored["board_id"] == owner and task_id in gateway.get(f"tasks-of:{owner}").value["ids"]
    members = user.get(f"/boards/{owner}/members").get_data(as_text=True)
    assert "yours alone" in members and "Invite" not in members


def test_a_task_stored_before_boards_is_migrated_onto_its_owners_personal_board(user, owner, gateway, app):
    from webapp.migrations import task_documents
    task_id = user.create_task(title="From before boards")
    item = gateway.get(f"task:{task_id}")
    legacy = {k: v for k, v in item.value.items() if k != "board_id"}
    gateway.save(item.key, legacy, etag=item.etag)
    assert task_documents.migrate_board(owner) >= 1
    assert gateway.get(f"task:{task_id}").value["board_id"] == owner
    assert "From before boards" in user.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert user.action(task_id, "complete").status_code == 302
    assert gateway.get(f"task:{task_id}").value["board_id"] == owner


def test_task_events_carry_the_board_and_the_acting_user(team, app, gateway):
    from webapp.activity import history_key
    version = team.editor.version_of(team.task_id)
    assert _move(team.editor, team.task_id, "in_progress", version, team.board_id).status_code == 302
    entries = eventually(lambda: len(gateway.get(history_key(team.task_id)).value.get("items", [])) >= 2
                         and gateway.get(history_key(team.task_id)).value["items"])
    assert entries  # the consumer loaded the task by its board (it was recorded)
    html = team.viewer.get(f"/tasks/{team.task_id}").get_data(as_text=True)
    assert re.search(r"Edited|Created", html)


def test_the_migration_command_writes_personal_boards_once(app, user, owner, gateway):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["migrate-boards"])
    assert first.exit_code == 0, first.output
    assert gateway.get(f"board:{owner}").exists and gateway.get(f"boards-of:{owner}").exists
    second = runner.invoke(args=["migrate-boards"])
    assert second.exit_code == 0 and "wrote the personal board of 0" in second.output


def test_an_event_naming_another_board_leaves_the_tasks_history_alone(team, stack, gateway):
    """Event handlers load the task on the board the event names: a task on another board is not touched."""
    import uuid

    from tests.integration.test_events_and_inbox import _post
    from webapp.activity import history_key
    eventually(lambda: gateway.get(history_key(team.task_id)).exists)  # its creation is recorded
    outsider = user_id_of(team.outsider)  # the task's real owner, but a board it is not on
    forged = {"event_id": uuid.uuid4().hex, "type": "task.updated", "task_id": team.task_id,
              "user_id": user_id_of(team.owner),
              "board_id": outsider, "actor_id": outsider, "title": "t", "status": "pending", "priority": "low",
              "timestamp": "2026-03-01T12:00:00+00:00", "version": "9", "changes": ["title"]}
    status, _ = _post(stack.url() + "/events/task-events", {"id": forged["event_id"], "data": forged},
                      stack.app_token)
    assert status == 200
    ids = [entry["id"] for entry in gateway.get(history_key(team.task_id)).value["items"]]
    assert forged["event_id"] not in ids


def test_a_boards_list_pages_its_tasks_for_members_with_actions_only_for_editors(team):
    for role, actions in (("editor", True), ("viewer", False)):
        html = team.as_role(role).get(f"/tasks?board={team.board_id}").get_data(as_text=True)
        assert "Tasks of Team board" in html and "Shared work" in html, role
        assert (f'action="/tasks/{team.task_id}/complete"' in html) == actions, role
        assert 'name="board" value="' + team.board_id + '"' in html  # the filters stay on this board
    assert team.outsider.get(f"/tasks?board={team.board_id}").status_code == 404


def test_the_board_rebuilds_rows_missing_from_its_index(team, gateway):
    key = f"tasks-of:{team.board_id}"
    index = gateway.get(key)
    gateway.save(key, {**index.value, "rows": {}}, etag=index.etag)  # e.g. rows of an older layout, dropped
    html = team.viewer.get(f"/boards/{team.board_id}").get_data(as_text=True)
    assert "Shared work" in html.split('id="col-pending"')[1]
    assert team.task_id in gateway.get(key).value["rows"]  # stored again
