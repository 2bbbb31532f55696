"""The API's boards and memberships on the real stack: list my boards, a board's tasks, members, ETags."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import Browser
from tests.integration.boards import user_id_of
from tests.integration.test_api import make_token
from tests.integration.test_versions import sidecar_calls  # noqa: F401  (a fixture)


@pytest.fixture
def two(app):
    """Two signed-in users with API tokens: ann (who creates the board) and bob."""
    people = {}
    for name in ("ann", "bob"):
        browser = Browser(app.test_client())
        browser.register()
        people[name] = (browser, {"Authorization": f"Bearer {make_token(browser, name)}"})
    return people


def test_boards_members_and_tasks_through_the_api(two):
    (ann, ann_auth), (bob, bob_auth) = two["ann"], two["bob"]
    client = ann.client
    mine = client.get("/api/v1/boards", headers=ann_auth).get_json()["items"]
    assert mine == [{"id": user_id_of(ann), "name": "Personal", "role": "owner", "personal": True}]

    created = client.post("/api/v1/boards", json={"name": " Launch "}, headers=ann_auth)
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    board = created.get_json()
    assert board["name"] == "Launch" and board["role"] == "owner" and created.headers["Location"].endswith(board["id"])
    members_url = f"/api/v1/boards/{board['id']}/members"

    assert client.post(members_url, json={"username": bob.username}, headers=ann_auth).status_code == 428
    assert client.post(members_url, json={"username": bob.username},
                       headers={**ann_auth, "If-Match": '"7"'}).status_code == 409
    unknown = client.post(members_url, json={"username": "no-such-person"}, headers={**ann_auth, "If-Match": '"1"'})
    assert unknown.status_code == 422 and unknown.is_json
    added = client.post(members_url, json={"username": bob.username, "role": "viewer"},
                        headers={**ann_auth, "If-Match": '"1"'})
    assert added.status_code == 201 and added.headers["ETag"] == '"2"'
    listed = client.get(members_url, headers=bob_auth)
    assert listed.headers["ETag"] == '"2"'
    assert {(m["username"], m["role"]) for m in listed.get_json()["items"]} == {(ann.username, "owner"),
                                                                                  (bob.username, "viewer")}
    assert board["id"] in [b["id"] for b in bob.client.get("/api/v1/boards", headers=bob_auth).get_json()["items"]]

    tasks_url = f"/api/v1/boards/{board['id']}/tasks"
    assert bob.client.post(tasks_url, json={"title": "Not for viewers"}, headers=bob_auth).status_code == 403
    task = client.post(tasks_url, json={"title": "Draft the plan"}, headers=ann_auth)
    assert task.status_code == 201 and task.headers["ETag"] == '"1"'
    seen = bob.client.get(tasks_url, headers=bob_auth).get_json()
    assert [t["title"] for t in seen["items"]] == ["Draft the plan"] and seen["total"] == 1
    task_url = f"/api/v1/tasks/{task.get_json()['id']}"
    assert bob.client.get(task_url, headers=bob_auth).headers["ETag"] == '"1"'
    assert bob.client.put(f"{task_url}/status", json={"status": "completed"},
                          headers={**bob_auth, "If-Match": '"1"'}).status_code == 403

    bob_id = user_id_of(bob)
    promoted = client.put(f"{members_url}/{bob_id}", json={"role": "editor"}, headers={**ann_auth, "If-Match": '"2"'})
    assert promoted.status_code == 200 and promoted.headers["ETag"] == '"3"'
    moved = bob.client.put(f"{task_url}/status", json={"status": "in_progress"}, headers={**bob_auth, "If-Match": '"1"'})
    assert moved.status_code == 200 and moved.get_json()["status"] == "in_progress"

    last_owner = client.delete(f"{members_url}/{user_id_of(ann)}", headers={**ann_auth, "If-Match": '"3"'})
    assert last_owner.status_code == 422 and "last owner" in last_owner.get_json()["message"]
    assert bob.client.delete(f"{members_url}/{bob_id}", headers={**bob_auth, "If-Match": '"3"'}).status_code == 204
    assert bob.client.get(task_url, headers=bob_auth).status_code == 404  # left: like a missing task
    assert client.delete(f"/api/v1/boards/{board['id']}", headers={**ann_auth, "If-Match": '"4"'}).status_code == 422


def test_the_board_page_is_one_sidecar_call_and_a_task_page_one(two, sidecar_calls):  # noqa: F811
    ann, auth = two["ann"]
    board_id = ann.client.post("/api/v1/boards", json={"name": "Counted"}, headers=auth).get_json()["id"]
    for n in range(30):
        ann.client.post(f"/api/v1/boards/{board_id}/tasks", json={"title": f"Card {n}", "tags": ["x"]}, headers=auth)
    task_id = ann.client.get(f"/api/v1/boards/{board_id}/tasks", headers=auth).get_json()["items"][0]["id"]

    def calls(path, badge_apart: bool = True):
        ann.get(path)  # warm: the session's secret key, the first request's reads
        sidecar_calls.clear()
        assert ann.get(path).status_code == 200
        # beside the badge's read of the inbox head (with the account record that checks the session)
        return Counter(name for name, key in sidecar_calls if not badge_apart or "inbox:" not in key)

    board, task = calls(f"/boards/{board_id}", badge_apart=False), calls(f"/tasks/{task_id}")
    print(f"\nsidecar calls: board page {dict(board)}, task page {dict(task)} (beside the inbox badge's read)")
    # Board record, the caller's memberships, the tasks index, the feed, the inbox head (the badge) and the
    # account record (the session's generation): one bulk read in all.
    assert board == Counter(get_many=1)
    # Task and memberships (one bulk read), then the board record (names), watchers, the board's change
    # counter and the task's history (one bulk read).
    assert sum(task.values()) == 2


def test_concurrent_invitations_lose_no_member(app, two):
    """Twelve invitations at once, each at whatever version (If-Match: *): the board's ETag serialises them."""
    from concurrent.futures import ThreadPoolExecutor

    ann, auth = two["ann"]
    board_id = ann.client.post("/api/v1/boards", json={"name": "Crowded"}, headers=auth).get_json()["id"]
    invitees = []
    for _ in range(12):
        browser = Browser(app.test_client())
        browser.register()
        invitees.append(browser)

    def invite(browser):
        client = app.test_client()  # one client per thread
        return client.post(f"/api/v1/boards/{board_id}/members", json={"username": browser.username, "role": "editor"},
                           headers={**auth, "If-Match": "*"}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(invite, invitees))
    assert codes == [201] * 12
    members = ann.client.get(f"/api/v1/boards/{board_id}/members", headers=auth)
    assert len(members.get_json()["items"]) == 13 and members.headers["ETag"] == '"13"'
    for browser in invitees:  # each one's own record says so too: they can open the board
        assert browser.get(f"/boards/{board_id}").status_code == 200
