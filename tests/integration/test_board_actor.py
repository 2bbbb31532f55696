"""A shared board's index rows are written in its board actor's turns (Dapr actors hosted by the app under
gunicorn, placed by the stack's placement service); personal boards keep the optimistic path."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import Browser, app_config
from tests.integration.boards import board_task, invite, make_team
from webapp.metrics import BOARD_ACTOR_CALLS
from webapp.tasks.rows import Summary, is_tombstone, row_revision
from webapp.tasks.store import index_key, task_key


def calls(outcome: str) -> float:
    return BOARD_ACTOR_CALLS.labels(outcome)._value.get()


def row_of(gateway, board_id: str, task_id: str):
    return (gateway.get(index_key(board_id)).value or {}).get("rows", {}).get(task_id)


def move(user, task_id, status, board_id):
    return user.form_post(f"/tasks/{task_id}/move", {"version": user.version_of(task_id), "status": status},
                          page_url=f"/boards/{board_id}")


@pytest.fixture
def team(app):
    return make_team(app)


def test_every_change_on_a_shared_board_writes_its_row_in_the_board_actors_turn(team, gateway):
    turns, fallbacks = calls("turn"), calls("fallback")
    editor, board_id, task_id = team.editor, team.board_id, team.task_id
    assert move(editor, task_id, "in_progress", board_id).status_code == 302
    assert Summary.from_row(task_id, row_of(gateway, board_id, task_id)).status == "in_progress"
    assert editor.action(task_id, "complete").status_code == 302
    assert editor.action(task_id, "reopen").status_code == 302
    assert editor.action(task_id, "delete").status_code == 302
    assert is_tombstone(row_of(gateway, board_id, task_id))
    assert editor.form_post(f"/tasks/{task_id}/restore", {}, page_url=f"/boards/{board_id}").status_code == 302
    row = row_of(gateway, board_id, task_id)
    assert not is_tombstone(row)
    assert row_revision(row) == gateway.get(task_key(task_id)).value["revision"]
    assert (calls("turn") - turns, calls("fallback") - fallbacks) == (5, 0)


def test_a_personal_boards_changes_take_the_optimistic_path(user, gateway):
    task_id = user.create_task(title="Mine alone")
    turns, fallbacks = calls("turn"), calls("fallback")
    assert user.action(task_id, "complete").status_code == 302
    assert (calls("turn") - turns, calls("fallback") - fallbacks) == (0, 0)


def test_concurrent_moves_on_one_board_all_land_in_turns_and_none_is_lost(stack, gateway):
    from webapp.app import create_app
    # A generous wait for the turn: this test is about the turns, not about the fallback under load.
    app = create_app(app_config(stack, BOARD_ACTOR_SECONDS=60.0))
    team = make_team(app)
    writers = [team.owner, team.editor]
    for _ in range(4):
        writers.append(Browser(app.test_client()))
        writers[-1].register()
        assert invite(team.owner, team.board_id, writers[-1], "editor").status_code == 302
    task_ids = [board_task(team.owner, team.board_id, title=f"Card {n}") for n in range(len(writers))]
    turns, fallbacks = calls("turn"), calls("fallback")

    def moves(writer_and_task) -> list[int]:
        writer, task_id = writer_and_task
        return [move(writer, task_id, status, team.board_id).status_code
                for status in ("in_progress", "completed", "pending")]

    with ThreadPoolExecutor(len(writers)) as pool:
        answers = list(pool.map(moves, zip(writers, task_ids)))
    assert answers == [[302, 302, 302]] * len(writers)
    assert (calls("turn") - turns, calls("fallback") - fallbacks) == (3 * len(writers), 0)
    for task_id in task_ids:
        document = gateway.get(task_key(task_id)).value
        row = row_of(gateway, team.board_id, task_id)
        assert (document["status"], row_revision(row)) == ("pending", document["revision"]), task_id
