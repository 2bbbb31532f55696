"""A shared board's index rows are written in its board actor's turns (Dapr actors hosted by the app under
gunicorn, placed by the stack's placement service); personal boards keep the optimistic path."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import Browser, app_config
from tests.integration.boards import board_task, invite, make_team
from webapp.metrics import BOARD_ACTOR_CALLS
from webapp.tasks.rows import Summary, is_tombstone, row_revision
from webapp.keys import index_key, task_key


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


def test_every_write_to_a_shared_boards_index_is_made_in_the_board_actors_turn(team, gateway):
    turns, fallbacks = calls("turn"), calls("fallback")
    editor, board_id = team.editor, team.board_id
    task_id = board_task(editor, board_id, title="Made in a turn")
    assert row_revision(row_of(gateway, board_id, task_id)) == 1
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
    assert (calls("turn") - turns, calls("fallback") - fallbacks) == (6, 0)


def test_a_personal_boards_changes_take_the_optimistic_path(user, gateway):
    task_id = user.create_task(title="Mine alone")
    turns, fallbacks = calls("turn"), calls("fallback")
    assert user.action(task_id, "complete").status_code == 302
    assert (calls("turn") - turns, calls("fallback") - fallbacks) == (0, 0)


def test_concurrent_creates_and_moves_on_one_board_all_land_in_turns_and_none_is_lost(stack, gateway):
    from webapp.app import create_app
    # A generous wait for the turn: this test is about the turns, not about the fallback under load.
    app = create_app(app_config(stack, BOARD_ACTOR_SECONDS=60.0))
    team = make_team(app)
    writers = [team.owner, team.editor]
    for _ in range(4):
        writers.append(Browser(app.test_client()))
        writers[-1].register()
        assert invite(team.owner, team.board_id, writers[-1], "editor").status_code == 302
    turns, fallbacks = calls("turn"), calls("fallback")
    with ThreadPoolExecutor(len(writers)) as pool:
        task_ids = list(pool.map(lambda n: board_task(writers[n], team.board_id, title=f"Card {n}"),
                                 range(len(writers))))
    listed = gateway.get(index_key(team.board_id)).value["ids"]
    assert set(task_ids) <= set(listed) and len(listed) == len(task_ids) + 1  # and the team's first task

    def moves(writer_and_task) -> list[int]:
        writer, task_id = writer_and_task
        return [move(writer, task_id, status, team.board_id).status_code
                for status in ("in_progress", "completed", "pending")]

    with ThreadPoolExecutor(len(writers)) as pool:
        answers = list(pool.map(moves, zip(writers, task_ids)))
    assert answers == [[302, 302, 302]] * len(writers)
    assert (calls("turn") - turns, calls("fallback") - fallbacks) == (4 * len(writers), 0)
    for task_id in task_ids:
        document = gateway.get(task_key(task_id)).value
        row = row_of(gateway, team.board_id, task_id)
        assert (document["status"], row_revision(row)) == ("pending", document["revision"]), task_id


def test_a_create_that_gives_up_after_its_twin_listed_the_task_keeps_it(app, monkeypatch):
    """The board actor's turn and the request that stopped waiting for it may both run one create (same task,
    same keys). The one that gives up must not remove the keys of a task the other listed meanwhile."""
    import uuid
    from datetime import datetime, timezone

    from webapp.dapr_gateway import Item
    from webapp.sidecar import ATTEMPTS, gateway
    from webapp.tasks import index as task_index
    from webapp.tasks import creation
    from webapp.tasks.model import TaskFields, new_task

    board_id = f"b_{uuid.uuid4().hex}"
    task = new_task("u1", TaskFields("Listed by its twin"), datetime.now(timezone.utc), board_id=board_id)
    real = creation.index_to_change
    monkeypatch.setattr(creation, "index_to_change",  # every attempt loses on the index (an ETag that never matches)
                        lambda board: Item(real(board).key, real(board).value, "987654"))
    monkeypatch.setattr("webapp.sidecar.time.sleep", lambda seconds: None)
    attempts: list[int] = []
    event = {"event_id": uuid.uuid4().hex, "type": "task.created"}
    with app.app_context():
        transact = type(gateway()).transact

        def twin_lists_it_at_the_last_attempt(self, operations, *args, **kwargs):
            attempts.append(1)
            if len(attempts) == ATTEMPTS:
                index = real(board_id)  # the twin stores the task and lists it (a real transaction: PostgreSQL)
                gateway().save(task_key(task.id), {**task.to_dict(), "outbox": [event["event_id"]]})
                listing = {"ids": [task.id], "rows": {task.id: task_index.row_of(task, False)}}
                gateway().save(index.key, listing, etag=index.etag)
            return transact(self, operations, *args, **kwargs)  # raises: this attempt lost on the index
        monkeypatch.setattr(type(gateway()), "transact", twin_lists_it_at_the_last_attempt)
        assert creation.insert_here(task, [event]) is False
        monkeypatch.undo()
        assert len(attempts) == ATTEMPTS
        assert gateway().get(task_key(task.id)).exists
        assert gateway().get(index_key(board_id)).value["ids"] == [task.id]
