"""The sidecar calls a comment, a mention and a checklist change cost in the request, counted on the real stack.

The budgets: a comment (with or without a mention), its edit and its deletion, and every checklist change cost at
most 3 calls, through the pages and through the API (beyond the bearer token's own check, as for every API
request); the task page is the count it had without comments plus one bulk read; board and list pages 1 call.
Each count is exact, so a change that adds a call fails here.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_token, eventually
from tests.integration.boards import board_task, make_team, user_id_of
from tests.integration.test_api import make_token
from tests.integration.test_list_reads import CALLS, counting
from webapp.keys import history_key, my_tasks_key, task_key

ITEM_RE = re.compile(r'<li class="checklist-item( done)?" id="item-([0-9a-f]+)">.*?name="seen" value="([0-9a-f]+)"',
                     re.S)
COUNTED = (*CALLS, "invoke_actor")  # a board actor's turn too (a row written in the request)
AUTH_KEYS = ("token:",)  # the bearer token's check (and its last-use stamp) every API request makes first


@pytest.fixture(scope="module")
def team(app):
    return make_team(app, title="Budgeted")


@pytest.fixture
def sidecar_calls(gateway, monkeypatch):
    """Every call the in-process app makes to its sidecar, actor turns included, as (method, keys)."""
    return counting(gateway, monkeypatch, COUNTED)


def _names(calls: list) -> list[str]:
    return [name for name, _ in calls]


def _own_calls(calls: list) -> list[str]:
    """The calls beyond the bearer token's check."""
    return [name for name, keys in calls if not (keys and keys[0].startswith(AUTH_KEYS))]


def _post(person, url: str, data: dict, calls: list, page: str) -> list[str]:
    token = csrf_token(person.get(page).get_data(as_text=True))
    calls.clear()
    resp = person.client.post(url, data={"csrf_token": token, **data})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    print(f"\nPOST {url}: {calls}")
    return _names(calls)


def _items(person, task_id: str) -> list[tuple[str, str]]:
    html = person.get(f"/tasks/{task_id}").get_data(as_text=True)
    return [(item_id, seen) for _, item_id, seen in ITEM_RE.findall(html)]


def _handled(app, task_id: str) -> None:
    """Wait until the task's events so far are in its history (handled), as they are between a person's clicks."""
    with app.app_context():
        from webapp.sidecar import gateway
        document = gateway().get(task_key(task_id)).value
        eventually(lambda: set(document["outbox"]) <= {e["id"] for e in gateway().get(history_key(task_id))
                                                       .value.get("items", [])}, timeout=30)


def _comment_ids(person, task_id: str) -> list[str]:
    return re.findall(r'id="comment-([0-9a-f]+)"', person.get(f"/tasks/{task_id}").get_data(as_text=True))


@pytest.mark.parametrize("shared", [False, True], ids=["own board", "shared board"])
def test_page_comments_and_mentions_cost_three_calls_each(team, user, shared, sidecar_calls):
    person, board = (team.editor, team.board_id) if shared else (user, user_id_of(user))
    task_id = board_task(team.owner, board, title="Talk") if shared else user.create_task(title="Talk")
    page = f"/tasks/{task_id}"
    mention = f" @{team.viewer.username}" if shared else f" @{user.username}"
    assert _post(person, f"{page}/comments", {"text": "plain", "board": board}, sidecar_calls, page) == [
        "get_many", "transact", "publish"]
    assert _post(person, f"{page}/comments", {"text": "with" + mention, "board": board}, sidecar_calls, page) == [
        "get_many", "transact", "publish"]
    newest = _comment_ids(person, task_id)[0]
    # An edit: one read (task, memberships, board, the comment, the session's account), one guarded write.
    assert _post(person, f"{page}/comments/{newest}/edit", {"text": "changed", "version": "1", "board": board},
                 sidecar_calls, f"{page}/comments/{newest}/edit") == ["get_many", "save"]
    # A deletion: the read, the comment's tombstone, the document's note.
    assert _post(person, f"{page}/comments/{newest}/delete", {"version": "2", "board": board},
                 sidecar_calls, page) == ["get_many", "save", "transact"]


@pytest.mark.parametrize("shared", [False, True], ids=["own board", "shared board"])
def test_api_comments_cost_three_calls_beyond_the_token_check(team, user, shared, sidecar_calls):
    person = team.editor if shared else user
    task_id = board_task(team.owner, team.board_id, title="API talk") if shared else user.create_task(title="API")
    auth = {"Authorization": f"Bearer {make_token(person, 'budget')}"}
    url = f"/api/v1/tasks/{task_id}/comments"
    sidecar_calls.clear()
    created = person.client.post(url, json={"text": f"hello @{team.viewer.username}"}, headers=auth)
    assert created.status_code == 201
    assert _own_calls(sidecar_calls) == ["get_many", "transact", "publish"], sidecar_calls
    comment = f"{url}/{created.get_json()['id']}"
    sidecar_calls.clear()
    assert person.client.put(comment, json={"text": "again"}, headers={**auth, "If-Match": '"1"'}).status_code == 200
    assert _own_calls(sidecar_calls) == ["get_many", "save"], sidecar_calls
    sidecar_calls.clear()
    assert person.client.delete(comment, headers={**auth, "If-Match": '"2"'}).status_code == 204
    assert _own_calls(sidecar_calls) == ["get_many", "save", "transact"], sidecar_calls


@pytest.mark.parametrize("shared", [False, True], ids=["own board", "shared board"])
def test_every_checklist_change_through_the_page_costs_three_calls(team, user, shared, sidecar_calls):
    person, board = (team.editor, team.board_id) if shared else (user, user_id_of(user))
    task_id = board_task(team.owner, board, title="Ticks") if shared else user.create_task(title="Ticks")
    page = f"/tasks/{task_id}"
    for text in ("one", "two"):
        assert _post(person, f"{page}/checklist", {"text": text, "board": board}, sidecar_calls, page) == [
            "get_many", "transact", "publish"]
    # Past eight changes the document's list of events not known to be handled is pruned by the history.
    for n, (op, at) in enumerate([("tick", 0), ("untick", 0), ("rename", 0), ("down", 0), ("up", 1)] * 2
                                 + [("remove", 0)]):
        _handled(team.owner.client.application, task_id)
        item_id, seen = _items(person, task_id)[at]
        assert _post(person, f"{page}/checklist/{item_id}", {"op": op, "seen": seen, "text": f"renamed {n}",
                                                              "version": "1", "board": board},
                     sidecar_calls, page) == ["get_many", "transact", "publish"], op
    item_id, seen = _items(person, task_id)[0]
    assert _post(person, f"{page}/checklist/{item_id}", {"op": "rename", "seen": seen, "text": "two",
                                                          "version": "1", "board": board},
                 sidecar_calls, page) == ["get_many"]  # the same text: nothing to store


def test_a_checklist_change_through_the_api_put_costs_three_calls(team, sidecar_calls):
    task_id = board_task(team.owner, team.board_id, title="API ticks")
    auth = {"Authorization": f"Bearer {make_token(team.editor, 'ticks')}"}
    url = f"/api/v1/tasks/{task_id}"
    got = team.editor.client.get(url, headers=auth)
    body = got.get_json()
    sidecar_calls.clear()
    put = team.editor.client.put(url, json={"title": body["title"], "checklist": [{"text": "First"}]},
                                 headers={**auth, "If-Match": got.headers["ETag"]})
    assert put.status_code == 200, put.get_data(as_text=True)
    assert _own_calls(sidecar_calls) == ["get_many", "transact", "publish"], sidecar_calls
    item = put.get_json()["checklist"][0]
    sidecar_calls.clear()
    ticked = team.editor.client.put(url, json={"title": body["title"], "checklist": [{**item, "done": True}]},
                                    headers={**auth, "If-Match": put.headers["ETag"]})
    assert ticked.status_code == 200 and ticked.get_json()["checklist"][0]["done"]
    assert _own_calls(sidecar_calls) == ["get_many", "transact", "publish"], sidecar_calls


def test_board_and_list_pages_stay_one_call_and_the_task_page_one_read_more(team, sidecar_calls):
    task_id = board_task(team.owner, team.board_id, title="Pages")
    person = team.editor
    person.get(f"/tasks/{task_id}")

    def page(url: str) -> list[str]:
        person.get(url)  # any flash goes
        sidecar_calls.clear()
        assert person.get(url).status_code == 200
        return _names(sidecar_calls)

    before = page(f"/tasks/{task_id}")
    assert _post(person, f"/tasks/{task_id}/comments", {"text": "one", "board": team.board_id}, sidecar_calls,
                 f"/tasks/{task_id}")
    assert _post(person, f"/tasks/{task_id}/checklist", {"text": "item", "board": team.board_id}, sidecar_calls,
                 f"/tasks/{task_id}")
    after = page(f"/tasks/{task_id}")
    print(f"\ntask page: {before} without comments, {after} with")
    assert after == before + ["get_many"]
    assert page(f"/boards/{team.board_id}") == ["get_many"]
    assert page(f"/tasks?board={team.board_id}") == ["get_many"]
    assert page("/tasks") == ["get_many"]


def test_a_checklist_change_reaches_the_list_board_and_my_tasks_once_its_event_is_handled(app, team):
    """The row and the "My tasks" entry follow in the task-events handler: progress shows without a task read."""
    task_id = board_task(team.owner, team.board_id, title="Progress follows")
    page = f"/tasks/{task_id}"
    for text in ("a", "b", "c"):
        assert team.editor.form_post(f"{page}/checklist", {"text": text, "board": team.board_id},
                                     page_url=page).status_code == 302
    item_id, seen = _items(team.editor, task_id)[1]
    assert team.editor.form_post(f"{page}/checklist/{item_id}", {"op": "tick", "seen": seen, "version": "1",
                                                                  "board": team.board_id},
                                 page_url=page).status_code == 302
    eventually(lambda: "Checklist: 1/3" in team.owner.get(f"/tasks?board={team.board_id}").get_data(as_text=True))
    eventually(lambda: "☑ 1/3" in team.owner.get(f"/boards/{team.board_id}").get_data(as_text=True))
    with app.app_context():  # the owner created it and nobody is assigned: it is in the owner's "My tasks"
        from webapp.sidecar import gateway
        from webapp.tasks import store
        from webapp.tasks.rows import Summary
        ticked = Summary.of(store.load(team.board_id, task_id)).to_row()
        eventually(lambda: (gateway().get(my_tasks_key(user_id_of(team.owner))).value or {}).get(
            "rows", {}).get(task_id, [None, None])[1] == ticked)


def test_an_ended_session_comments_on_nothing_and_ticks_nothing(app, team):
    """The endpoints that check the session in their own read still sign out a session ended elsewhere."""
    from tests.conftest import Browser
    from tests.integration.test_account_sessions import PASSWORD, second_session
    task_id = board_task(team.owner, team.board_id, title="Ended elsewhere")
    page = f"/tasks/{task_id}"
    board = {"board": team.board_id}
    assert team.owner.form_post(f"{page}/comments", {"text": "mine", **board}, page_url=page).status_code == 302
    assert team.owner.form_post(f"{page}/checklist", {"text": "item", **board}, page_url=page).status_code == 302
    comment_id, (item_id, seen) = _comment_ids(team.owner, task_id)[0], _items(team.owner, task_id)[0]
    other: Browser = second_session(app, team.owner)
    token = csrf_token(other.get(page).get_data(as_text=True))
    assert team.owner.form_post("/account/sign-out-everywhere", {"current_password": PASSWORD}).status_code == 302
    for url, data in ((f"{page}/comments", {"text": "late", **board}),
                      (f"{page}/comments/{comment_id}/edit", {"text": "late", "version": "1", **board}),
                      (f"{page}/comments/{comment_id}/delete", {"version": "1", **board}),
                      (f"{page}/checklist", {"text": "late", **board}),
                      (f"{page}/checklist/{item_id}", {"op": "tick", "seen": seen, "version": "1", **board})):
        resp = other.client.post(url, data={"csrf_token": token, **data})
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
        other = second_session(app, team.owner)
        token = csrf_token(other.get(page).get_data(as_text=True))
        assert team.owner.form_post("/account/sign-out-everywhere", {"current_password": PASSWORD}).status_code == 302
    html = team.owner.get(page).get_data(as_text=True)
    assert "late" not in html and 'class="checklist-item done"' not in html and "mine" in html
    for path in (f"{page}/comments/{comment_id}/edit", f"/boards/{team.board_id}"):
        assert other.get(path).status_code == 302, path
