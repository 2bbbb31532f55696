"""No state item grows without bound (issue 13 item 2), on the real sidecar.

The users index is 256 bounded shards: the 100,001st user registers by writing
one ~16 kB shard. A user's task index has a maximum: a create beyond it gets a
clear answer (form error, API 422), never a 500.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import Browser, app_config
from webapp import users_index
from webapp.dapr_gateway import Upsert
from webapp.keys import USERS_INDEX_LEGACY, users_index_shard_key, users_index_shard_keys

SEEDED = 100_000


def _rewrite_shards(gateway, change) -> None:
    """Apply ``change(key, items) -> items`` to every shard, in bulk transactions (ETag-guarded)."""
    keys = users_index_shard_keys()
    for start in range(0, len(keys), 32):
        items = gateway.get_many(keys[start:start + 32])
        gateway.transact([Upsert(it.key, {"items": change(it.key, (it.value or {}).get("items", []))},
                                 etag=it.etag) for it in items])


@pytest.fixture
def seeded_users(app, gateway):
    """100,000 user ids written into the index shards directly (a few bulk transactions), removed after."""
    ids = [uuid.uuid4().hex for _ in range(SEEDED)]
    by_shard: dict[str, list[dict]] = {}
    for user_id in ids:
        by_shard.setdefault(users_index_shard_key(user_id), []).append({"id": user_id})
    _rewrite_shards(gateway, lambda key, items: [*by_shard.get(key, []), *items])
    yield set(ids)
    _rewrite_shards(gateway, lambda key, items: [i for i in items if i["id"] not in ids])


class _Spy:
    """Counts the sidecar calls a block makes (the real calls still go through) and the bytes it writes."""

    METHODS = ("get", "get_many", "save", "create", "delete", "transact")

    def __init__(self, gateway, monkeypatch):
        self.calls: list[str] = []
        self.written: dict[str, int] = {}
        for name in self.METHODS:
            real = getattr(gateway, name)
            monkeypatch.setattr(gateway, name, self._wrap(name, real))

    def _wrap(self, name, real):
        def call(*args, **kwargs):
            self.calls.append(name)
            if name in ("save", "create"):
                self.written[args[0]] = len(json.dumps(args[1], separators=(",", ":")))
            return real(*args, **kwargs)
        return call


def test_the_100001st_user_registers_writing_one_bounded_shard(app, gateway, seeded_users, monkeypatch):
    spy = _Spy(gateway, monkeypatch)
    browser = Browser(app.test_client())
    browser.register()  # asserts 302
    monkeypatch.undo()
    with browser.client.session_transaction() as session:
        user_id = session["profile"]["id"]
    with app.app_context():
        shard = gateway.get(users_index_shard_key(user_id))
        assert {"id": user_id} in shard.value["items"]
        walked = set(users_index.iter_user_ids())
    assert len(walked) >= SEEDED + 1 and seeded_users <= walked and user_id in walked
    # Registration wrote only its own shard of the index: ~1/256 of the users, not all of them.
    index_writes = {k: n for k, n in spy.written.items() if k.startswith(USERS_INDEX_LEGACY)}
    assert list(index_writes) == [users_index_shard_key(user_id)]
    shard_bytes = index_writes[users_index_shard_key(user_id)]
    print(f"\n[bounds] shard at {len(walked)} users: {len(shard.value['items'])} ids, {shard_bytes} bytes; "
          f"sidecar calls of one registration: {len(spy.calls)} {spy.calls}")
    assert shard_bytes < 64 * 1024  # the single index was 42 bytes x 100,001 = 4.2 MB: over daprd's limit
    assert shard_bytes <= users_index.SHARD_LIMIT * 42 + 12


def test_the_walk_yields_every_id_once_in_pages_of_shards(app, user):
    with app.app_context():
        pages = list(users_index.iter_user_pages(shards_per_page=16))
        one_by_one = list(users_index.iter_user_ids(shards_per_page=1))
    assert len(pages) <= 16
    assert all(len(page) <= 16 * users_index.SHARD_LIMIT for page in pages)
    flat = [i for page in pages for i in page]
    assert sorted(flat) == sorted(one_by_one) and len(set(flat)) == len(flat)


def test_the_old_single_index_is_folded_into_the_shards_once(app, gateway):
    old_ids = [uuid.uuid4().hex for _ in range(300)]
    gateway.save(USERS_INDEX_LEGACY, {"items": [{"id": i} for i in old_ids]})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["migrate-users-index"])
    assert result.exit_code == 0 and "moved 300 ids" in result.output, result.output
    assert not gateway.get(USERS_INDEX_LEGACY).exists
    with app.app_context():
        assert set(old_ids) <= set(users_index.iter_user_ids())
    again = runner.invoke(args=["migrate-users-index"])
    assert again.exit_code == 0 and "moved 0 ids" in again.output
    # an old replica still writing the single item during an upgrade: running the migration again folds it in
    late = uuid.uuid4().hex
    gateway.save(USERS_INDEX_LEGACY, {"items": [{"id": late}]})
    assert "moved 1 ids" in runner.invoke(args=["migrate-users-index"]).output
    with app.app_context():
        assert late in set(users_index.iter_user_ids())
    assert not gateway.get(USERS_INDEX_LEGACY).exists
    walked = [i for i in old_ids + [late] if {"id": i} in gateway.get(users_index_shard_key(i)).value["items"]]
    assert len(walked) == 301  # each in its own shard, once
    _remove(gateway, old_ids + [late])


def _remove(gateway, ids) -> None:
    gone = set(ids)
    _rewrite_shards(gateway, lambda key, items: [i for i in items if i["id"] not in gone])


@pytest.fixture(scope="module")
def limited_app(stack):
    from webapp.app import create_app
    return create_app(app_config(stack, MAX_TASKS_PER_BOARD=5))


def test_a_user_at_the_task_limit_gets_a_form_error_then_deleting_one_lets_a_create_through(limited_app):
    browser = Browser(limited_app.test_client())
    browser.register()
    task_ids = [browser.create_task(title=f"Task {n}") for n in range(5)]
    data = {"title": "One too many", "description": "", "status": "pending", "priority": "medium", "tags": "",
            "due_at": "", "remind_at": "", "recurrence": "none"}
    refused = browser.form_post("/tasks/new", data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "You have 5 tasks, the most one list can hold: delete some to add more." in html
    assert 'value="One too many"' in html  # the form keeps what was typed
    assert browser.action(task_ids[0], "delete").status_code == 302
    assert browser.create_task(title="One too many")  # a slot is free again (asserts 302)


def test_the_api_answers_422_naming_the_limit_and_never_500(limited_app):
    from webapp.auth import tokens, users
    browser = Browser(limited_app.test_client())
    browser.register()
    with limited_app.app_context():
        token = tokens.create(users.User.from_record(users.find(browser.username)), "script")
    headers = {"Authorization": f"Bearer {token}"}
    created = [browser.client.post("/api/v1/tasks", json={"title": f"T{n}"}, headers=headers) for n in range(5)]
    assert [r.status_code for r in created] == [201] * 5
    refused = browser.client.post("/api/v1/tasks", json={"title": "T5"}, headers=headers)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["errors"] == {"limit": 5} and "the most one list can hold" in body["message"]
    first = created[0].get_json()["id"]
    assert _api_delete(browser, headers, first) == 204
    assert browser.client.post("/api/v1/tasks", json={"title": "T5"}, headers=headers).status_code == 201
    # deleted tasks stay undoable for a day: the index holds at most as many tombstones as live tasks
    for task in created[1:]:
        assert _api_delete(browser, headers, task.get_json()["id"]) == 204
    again = [browser.client.post("/api/v1/tasks", json={"title": f"U{n}"}, headers=headers) for n in range(4)]
    assert [r.status_code for r in again] == [201] * 4  # 5 live, 5 tombstones: 10 ids
    assert _api_delete(browser, headers, again[0].get_json()["id"]) == 204  # 4 live, 6 tombstones
    capped = browser.client.post("/api/v1/tasks", json={"title": "U4"}, headers=headers)
    assert capped.status_code == 422 and capped.get_json()["errors"] == {"limit": 5}


def _api_delete(browser, headers, task_id) -> int:
    return browser.client.delete(f"/api/v1/tasks/{task_id}", headers={**headers, "If-Match": "*"}).status_code


def test_the_openapi_document_names_the_422_of_a_create(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "MAX_TASKS_PER_BOARD" in doc["paths"]["/api/v1/tasks"]["post"]["responses"]["422"]["description"]
