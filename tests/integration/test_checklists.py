"""Checklists on the real stack: add, tick, rename, reorder, remove through plain forms; the progress on list rows
and board cards from the index alone; two people ticking different items at once both win, the same item is a
conflict; the 51st item is a field error; the API reads and replaces the checklist through the task's PUT."""

from __future__ import annotations

import re
import threading

import pytest

from tests.conftest import csrf_token, eventually
from tests.integration.boards import board_task, make_team
from tests.integration.test_api import make_token
from tests.integration.test_list_reads import sidecar_calls  # noqa: F401  (a fixture)
from webapp.tasks.checklist import ITEMS_MAX

ITEM_RE = re.compile(r'<li class="checklist-item( done)?" id="item-([0-9a-f]+)">.*?name="seen" value="([0-9a-f]+)"'
                     r'.*?name="text" value="([^"]*)"', re.S)


def items(user, task_id: str) -> list[tuple[str, str, str, bool]]:
    """(id, seen, text, done) of each item as the task page shows it, in order."""
    html = user.get(f"/tasks/{task_id}").get_data(as_text=True)
    return [(i, seen, text, bool(done)) for done, i, seen, text in ITEM_RE.findall(html)]


def add(user, task_id: str, text: str):
    return user.form_post(f"/tasks/{task_id}/checklist", {"text": text}, page_url=f"/tasks/{task_id}")


def change(user, task_id: str, item: tuple, op: str, text: str = "", token: str | None = None):
    data = {"op": op, "seen": item[1], "text": text or item[2], "version": "1"}
    if token is None:
        return user.form_post(f"/tasks/{task_id}/checklist/{item[0]}", data, page_url=f"/tasks/{task_id}")
    return user.client.post(f"/tasks/{task_id}/checklist/{item[0]}", data={"csrf_token": token, **data})


def test_a_checklist_is_built_and_changed_with_plain_forms(user):
    task_id = user.create_task(title="Pack for the trip")
    for text in ("Passport", "Tickets", "Charger"):
        assert add(user, task_id, text).status_code == 302
    passport, tickets, charger = items(user, task_id)
    assert change(user, task_id, tickets, "tick").status_code == 302
    assert change(user, task_id, charger, "rename", "Phone charger").status_code == 302
    charger = items(user, task_id)[2]
    assert change(user, task_id, charger, "up").status_code == 302
    assert [(text, done) for _, _, text, done in items(user, task_id)] == [
        ("Passport", False), ("Phone charger", False), ("Tickets", True)]
    assert change(user, task_id, items(user, task_id)[0], "remove").status_code == 302
    assert [(text, done) for _, _, text, done in items(user, task_id)] == [("Phone charger", False),
                                                                          ("Tickets", True)]
    # Progress on the list row and the board card: from the index's rows, once the last change is handled.
    eventually(lambda: "Checklist: 1/2" in user.get("/tasks").get_data(as_text=True))
    assert "☑ 1/2" in user.get(f"/boards/{_own_id(user)}").get_data(as_text=True)
    # Each change is a change of the task: its version moved on, its history says so.
    assert user.version_of(task_id) == "8"  # created at 1, then seven changes


def _own_id(user) -> str:
    with user.client.session_transaction() as session:
        return session["profile"]["id"]


def test_the_list_page_stays_one_call_with_checklists(user, sidecar_calls):  # noqa: F811
    task_id = user.create_task(title="Counted list")
    assert add(user, task_id, "One").status_code == 302
    eventually(lambda: "Checklist: 0/1" in user.get("/tasks").get_data(as_text=True))  # its row followed
    sidecar_calls.clear()
    html = user.get("/tasks").get_data(as_text=True)
    assert "Checklist: 0/1" in html and [name for name, _ in sidecar_calls] == ["get_many"]


@pytest.fixture(scope="module")
def team(app):
    return make_team(app, title="Checked together")


def test_both_ticks_win_and_the_same_item_is_a_conflict(team):
    task_id = board_task(team.owner, team.board_id, title="Launch list")
    for text in ("Write notes", "Book room", "Send invites"):
        assert add(team.owner, task_id, text).status_code == 302
    first, second, third = items(team.owner, task_id)
    seen_by_editor = items(team.editor, task_id)  # both pages show version 4
    tokens = {who: csrf_token(u.get(f"/tasks/{task_id}").get_data(as_text=True))
              for who, u in (("owner", team.owner), ("editor", team.editor))}
    answers = {}
    barrier = threading.Barrier(2)

    def tick(who, user, item):
        barrier.wait()
        answers[who] = change(user, task_id, item, "tick", token=tokens[who]).status_code

    threads = [threading.Thread(target=tick, args=("owner", team.owner, first)),
               threading.Thread(target=tick, args=("editor", team.editor, seen_by_editor[1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {"owner": 302, "editor": 302}
    assert [done for *_, done in items(team.owner, task_id)] == [True, True, False]
    assert team.viewer.get(f"/tasks/{task_id}").get_data(as_text=True).count("(done)</span>") == 2
    assert team.owner.version_of(task_id) == "6"  # two changes, one after the other

    # The editor, still looking at the first item as it was before the owner ticked it, renames it: a real conflict.
    stale = change(team.editor, task_id, seen_by_editor[0], "rename", "Write the notes")
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "changed while you were working on it" in html
    assert "Write notes</strong> — done" in html and "Rename it now" in html
    assert items(team.owner, task_id)[0][2] == "Write notes"  # nothing overwritten
    # A removed item is a conflict too; the viewer may not change anything.
    assert change(team.owner, task_id, third, "remove").status_code == 302
    gone = change(team.editor, task_id, seen_by_editor[2], "tick")
    assert gone.status_code == 409 and "It has been removed" in gone.get_data(as_text=True)
    assert change(team.viewer, task_id, second, "untick").status_code == 403


def test_the_fifty_first_item_and_bad_text_are_field_errors(user):
    task_id = user.create_task(title="Very long list")
    token = make_token(user, "checklist")
    full = [{"text": f"step {n}"} for n in range(ITEMS_MAX)]
    version = user.version_of(task_id)
    resp = user.client.put(f"/api/v1/tasks/{task_id}", json={"title": "Very long list", "checklist": full},
                           headers={"Authorization": f"Bearer {token}", "If-Match": f'"{version}"'})
    assert resp.status_code == 200 and len(resp.get_json()["checklist"]) == ITEMS_MAX
    refused = add(user, task_id, "one too many")
    assert refused.status_code == 422 and f"A checklist holds at most {ITEMS_MAX} items." in refused.get_data(
        as_text=True)
    assert add(user, task_id, "   ").status_code == 422
    assert add(user, task_id, "x" * 201).status_code == 422
    assert len(items(user, task_id)) == ITEMS_MAX


def test_the_api_reads_and_replaces_the_checklist_through_the_tasks_put(user):
    token = make_token(user, "checklist api")
    auth = {"Authorization": f"Bearer {token}"}
    created = user.client.post("/api/v1/tasks", json={"title": "API list", "checklist": [
        {"text": "first"}, {"text": "second", "done": True}]}, headers=auth)
    assert created.status_code == 201
    body = created.get_json()
    assert [(i["text"], i["done"]) for i in body["checklist"]] == [("first", False), ("second", True)]
    assert all(i["id"] for i in body["checklist"])
    url = f"/api/v1/tasks/{body['id']}"
    # A PUT without the checklist keeps it; with it, replaces it; 51 items or a blank one: 422.
    kept = user.client.put(url, json={"title": "Renamed"}, headers={**auth, "If-Match": created.headers["ETag"]})
    assert kept.status_code == 200 and len(kept.get_json()["checklist"]) == 2
    too_many = [{"text": "x"}] * (ITEMS_MAX + 1)
    for bad in (too_many, [{"text": " "}], [{"text": "y" * 201}]):
        assert user.client.put(url, json={"title": "R", "checklist": bad},
                               headers={**auth, "If-Match": kept.headers["ETag"]}).status_code == 422
    first = kept.get_json()["checklist"][0]
    replaced = user.client.put(url, json={"title": "Renamed", "checklist": [{**first, "done": True}]},
                               headers={**auth, "If-Match": kept.headers["ETag"]})
    assert replaced.status_code == 200 and replaced.get_json()["checklist"] == [{**first, "done": True}]
    stale = user.client.put(url, json={"title": "Renamed", "checklist": []},
                            headers={**auth, "If-Match": kept.headers["ETag"]})
    assert stale.status_code == 409


def test_a_tick_costs_the_calls_of_any_change(team, sidecar_calls):  # noqa: F811
    """A tick is a change of the task: the access check's one read (task, memberships, the board and its index,
    named by the page's form), the commit, the publish; its row (the progress) follows in the event's handling."""
    task_id = board_task(team.owner, team.board_id, title="Counted ticks")
    assert add(team.owner, task_id, "Tick me").status_code == 302
    item = items(team.owner, task_id)[0]
    token = csrf_token(team.owner.get(f"/tasks/{task_id}").get_data(as_text=True))
    sidecar_calls.clear()
    resp = team.owner.client.post(f"/tasks/{task_id}/checklist/{item[0]}", data={
        "csrf_token": token, "op": "tick", "seen": item[1], "version": "2", "board": team.board_id})
    assert resp.status_code == 302
    print(f"\nsidecar calls of a tick on a shared board: {[name for name, _ in sidecar_calls]}")
    assert [name for name, _ in sidecar_calls] == ["get_many", "transact", "publish"]
