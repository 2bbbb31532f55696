"""The board actor without a sidecar: which path a row takes, the fallback, and the actor routes' answers."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from webapp.app import create_app
from webapp.boards import actor
from webapp.dapr_gateway import NotFound, Unavailable
from webapp.errors import Busy, ListFull, TaskLimitReached
from webapp.tasks import creation, index, store
from webapp.tasks.model import TaskFields, new_task

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
TOKEN = "app-token"


class StubGateway:
    """Answers actor calls with ``reply`` (or raises it), recording each call."""

    def __init__(self, reply):
        self.reply = reply
        self.calls = []

    def invoke_actor(self, actor_type, actor_id, method, data, timeout_seconds):
        self.calls.append((actor_type, actor_id, method, data, timeout_seconds))
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


@pytest.fixture
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "x", "APP_API_TOKEN": TOKEN, "BOARD_ACTOR_SECONDS": 1.5})


@pytest.fixture
def optimistic(monkeypatch):
    """Rows written on the optimistic path (``tasks.index.put_row``), recorded instead of stored."""
    written = []
    monkeypatch.setattr(index, "put_row", lambda board_id, task, deleted=False, index=None:
                        written.append((board_id, task.id, deleted)) or True)
    return written


def with_gateway(app, gateway):
    app.extensions["dapr"] = gateway
    return gateway


def test_a_shared_boards_row_goes_to_its_actor_with_the_bound_and_the_row(app, optimistic):
    gw = with_gateway(app, StubGateway({"written": True}))
    task = new_task("u1", TaskFields("Card"), NOW, board_id="b_team")
    with app.app_context():
        assert actor.put_row("b_team", task) is True
    assert gw.calls == [(actor.ACTOR_TYPE, "b_team", actor.PUT_ROW, {"task_id": task.id, "row": index.row_of(task, False)},
                         1.5)]
    assert optimistic == []


def test_a_turn_that_kept_losing_is_reported_so_the_board_is_marked(app, optimistic):
    with_gateway(app, StubGateway({"written": False}))
    with app.app_context():
        assert actor.put_row("b_team", new_task("u1", TaskFields("Card"), NOW, board_id="b_team")) is False
    assert optimistic == []


def test_no_answer_from_the_actor_writes_the_row_on_the_optimistic_path(app, optimistic):
    with_gateway(app, StubGateway(Unavailable("no answer in 1.5s")))
    task = new_task("u1", TaskFields("Card"), NOW, board_id="b_team")
    with app.app_context():
        assert actor.put_row("b_team", task, deleted=True) is True
    assert optimistic == [("b_team", task.id, True)]


@pytest.mark.parametrize("board_id, enabled", [("u1", True), ("b_team", False)])
def test_personal_boards_and_the_flag_off_take_the_optimistic_path(app, optimistic, board_id, enabled):
    gw = with_gateway(app, StubGateway({"written": True}))
    app.config["BOARD_ACTORS"] = enabled
    task = new_task("u1", TaskFields("Card"), NOW, board_id=board_id)
    with app.app_context():
        assert actor.put_row(board_id, task) is True
    assert gw.calls == [] and optimistic == [(board_id, task.id, False)]


def test_the_app_sends_committed_rows_and_creates_through_the_board_actor(app):
    assert app.extensions[store.ROW_WRITER] is actor.put_row
    assert app.extensions[creation.INDEX_INSERTER] is actor.insert


def test_actor_routes_refuse_callers_without_the_app_token(app):
    client = app.test_client()
    assert client.get("/dapr/config").status_code == 401
    assert client.put("/actors/BoardIndex/b_team/method/put_row", json={"task_id": "t", "row": []}).status_code == 401
    assert client.delete("/actors/BoardIndex/b_team").status_code == 401


def test_the_sidecar_learns_the_hosted_actor_type_and_none_with_the_flag_off(app):
    client = app.test_client()
    headers = {"dapr-api-token": TOKEN}
    config = client.get("/dapr/config", headers=headers).get_json()
    assert config["entities"] == ["BoardIndex"] and config["reentrancy"] == {"enabled": False}
    app.config["BOARD_ACTORS"] = False
    assert client.get("/dapr/config", headers=headers).get_json()["entities"] == []


@pytest.mark.parametrize("path, body, status", [
    ("/actors/Other/b_team/method/put_row", {"task_id": "t", "row": []}, 404),
    ("/actors/BoardIndex/b_team/method/drop_index", {"task_id": "t", "row": []}, 404),
    ("/actors/BoardIndex/u1/method/put_row", {"task_id": "t", "row": []}, 404),  # a personal board has no actor
    ("/actors/BoardIndex/b_team/method/put_row", {"task_id": "t"}, 400),
    ("/actors/BoardIndex/b_team/method/put_row", {"task_id": "x" * 65, "row": []}, 400),
    ("/actors/BoardIndex/b_team/method/put_row", "not json", 400),
])
def test_a_call_that_is_not_a_turn_of_the_board_actor_is_refused_clearly(app, path, body, status):
    client = app.test_client()
    headers = {"dapr-api-token": TOKEN}
    resp = client.put(path, json=body, headers=headers) if isinstance(body, dict) else \
        client.put(path, data=body, headers=headers)
    assert resp.status_code == status and resp.is_json


def test_deactivation_is_acknowledged_for_the_board_actor_only(app):
    client = app.test_client()
    headers = {"dapr-api-token": TOKEN}
    assert client.delete("/actors/BoardIndex/b_team", headers=headers).status_code == 200
    assert client.delete("/actors/Other/b_team", headers=headers).status_code == 404


@pytest.fixture
def optimistic_creates(monkeypatch):
    """Creates stored on the optimistic path (``tasks.creation.insert_here``), recorded instead of stored."""
    stored = []
    monkeypatch.setattr(creation, "insert_here", lambda task, events, with_history=True:
                        stored.append((task.id, [e["event_id"] for e in events])) or True)
    return stored


def test_a_create_on_a_shared_board_is_listed_in_the_actors_turn(app, optimistic_creates):
    gw = with_gateway(app, StubGateway({"inserted": True}))
    task = new_task("u1", TaskFields("Card"), NOW, board_id="b_team")
    with app.app_context():
        assert actor.insert(task, [{"event_id": "e1"}]) is True
    (actor_type, board_id, method, body, seconds), = gw.calls
    assert (actor_type, board_id, method, seconds) == (actor.ACTOR_TYPE, "b_team", actor.INSERT, 1.5)
    assert body == {"task": task.to_dict(), "events": [{"event_id": "e1"}], "with_history": True}
    assert optimistic_creates == []


@pytest.mark.parametrize("reply, error", [({"refused": "limit", "limit": 5000}, TaskLimitReached),
                                          ({"refused": "full", "limit": 3 << 20}, ListFull),
                                          ({"refused": "gone"}, NotFound), ({"refused": "busy"}, Busy)])
def test_a_create_the_turn_refused_raises_what_the_optimistic_path_would(app, reply, error):
    with_gateway(app, StubGateway(reply))
    with app.app_context(), pytest.raises(error):
        actor.insert(new_task("u1", TaskFields("Card"), NOW, board_id="b_team"), [])


def test_a_create_the_actor_did_not_answer_is_stored_on_the_optimistic_path(app, optimistic_creates):
    with_gateway(app, StubGateway(Unavailable("placement down")))
    task = new_task("u1", TaskFields("Card"), NOW, board_id="b_team")
    with app.app_context():
        assert actor.insert(task, [{"event_id": "e1"}]) is True
    assert optimistic_creates == [(task.id, ["e1"])]


@pytest.mark.parametrize("body", [{"events": []}, {"task": {"title": "x"}, "events": []},
                                  {"task": "not a task", "events": []}])
def test_a_create_turn_with_a_malformed_body_is_refused_clearly(app, body):
    resp = app.test_client().put("/actors/BoardIndex/b_team/method/insert", json=body,
                                 headers={"dapr-api-token": TOKEN})
    assert resp.status_code == 400 and resp.is_json


def test_a_create_turn_for_a_task_of_another_board_is_refused(app):
    task = new_task("u1", TaskFields("Card"), NOW, board_id="b_other")
    resp = app.test_client().put("/actors/BoardIndex/b_team/method/insert",
                                 json={"task": task.to_dict(), "events": []}, headers={"dapr-api-token": TOKEN})
    assert resp.status_code == 400
