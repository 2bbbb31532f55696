"""Membership and board deletion hold under concurrency on the real stack (Redis keeps the parts of a
transaction whose ETag matched; a write with an ETag on a key that is gone succeeds there).

* A board deleted while its members create tasks: afterwards it either exists with every task it
  acknowledged, or it is gone with no member access, no task stored on it and no index listing anything.
* An invitation of someone already on ``MAX_BOARDS`` boards changes nothing anywhere.
* A role raise racing a removal never leaves access that the board's members list does not show.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import devstack_data
import pytest

from tests.conftest import Browser, cleared
from tests.faults.test_faults import Http
from tests.integration.boards import user_id_of
from tests.integration.test_api import make_token
from webapp.boards import model
from webapp.boards.store import board_key, memberships_key
from webapp.tasks import store

ROUNDS = 12
CREATORS = 3

# Every stored value whose text names the board, as {key: value}: one script run by the store itself.
_SCAN = """
local found = {}
for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
  local data = redis.call('HGET', key, 'data')
  if data and string.find(data, ARGV[2], 1, true) then
    table.insert(found, key)
    table.insert(found, data)
  end
end
return found
"""


def stored_tasks_naming(stack, board_id: str) -> dict[str, dict]:
    """Every task document in the store whose text names ``board_id`` (listed by an index or not)."""
    pattern = "taskboard||task:*"
    if stack.stack_name == "redis":
        out = subprocess.run(["redis-cli", "-p", str(stack.ports.redis), "--raw", "EVAL", _SCAN, "0", pattern,
                              board_id], capture_output=True, text=True, check=True).stdout.splitlines()
        pairs = dict(zip(out[0::2], out[1::2]))
    else:
        rows = devstack_data.psql(stack.postgres_bin, stack.ports.postgres,
                                  "SELECT key || chr(9) || convert_from(value, 'UTF8') "
                                  f"FROM {devstack_data.TABLE_PREFIX}state WHERE key LIKE 'taskboard||task:%' "
                                  f"AND convert_from(value, 'UTF8') LIKE '%{board_id}%' "
                                  "AND (expires_at IS NULL OR expires_at > now())")
        pairs = dict(line.split("\t", 1) for line in rows.splitlines() if line)
    return {key.removeprefix("taskboard||"): json.loads(value) for key, value in pairs.items()}


def _in_use(record) -> bool:
    """A board record there and neither being deleted nor deleted."""
    return record.exists and not record.value.get("closing") and not record.value.get("deleted")


def _person(app) -> Browser:
    browser = Browser(app.test_client())
    browser.register()
    return browser


@pytest.fixture(scope="module")
def crew(app, stack):
    """An owner and an editor, each with an API token over real HTTP to the stack's gunicorn."""
    owner, editor = _person(app), _person(app)
    people = {}
    for name, browser in (("owner", owner), ("editor", editor)):
        client = Http(stack.url(), make_token(browser, "fencing"))
        client.id, client.browser = user_id_of(browser), browser
        people[name] = client
    return people


def test_a_board_deleted_while_tasks_are_created_keeps_them_all_or_leaves_nothing(crew, gateway, stack):
    owner, editor = crew["owner"], crew["editor"]
    outcomes = []
    for round_no in range(ROUNDS):
        status, board, _ = owner.call("POST", "/api/v1/boards", {"name": f"Doomed {round_no}"})
        assert status == 201, board
        board_id = board["id"]
        status, _, _ = owner.call("POST", f"/api/v1/boards/{board_id}/members",
                                  {"username": editor.browser.username, "role": "editor"}, {"If-Match": "*"})
        assert status == 201

        def create(n, who):
            return who.call("POST", f"/api/v1/boards/{board_id}/tasks", {"title": f"r{round_no}-{n}"}, timeout=60)

        def delete():
            answers = []
            for _ in range(4):  # again while it is refused for its tasks: some attempts land between creates
                answers.append(owner.call("DELETE", f"/api/v1/boards/{board_id}", headers={"If-Match": "*"},
                                          timeout=60)[0])
                if answers[-1] == 204:
                    break
            return answers

        with ThreadPoolExecutor(max_workers=CREATORS + 1) as pool:
            deleting = pool.submit(delete)
            creating = [pool.submit(create, n, editor if n % 2 else owner) for n in range(CREATORS)]
            created = [f.result() for f in creating]
            deletes = deleting.result()
        assert {s for s, _, _ in created} <= {201, 404}, created
        assert set(deletes) <= {204, 422}, deletes
        acknowledged = {body["id"] for s, body, _ in created if s == 201}
        record, index = gateway.get_many([board_key(board_id), store.index_key(board_id)])
        stored = stored_tasks_naming(stack, board_id)
        on_board = {key for key, doc in stored.items() if store.board_of(doc) == board_id}
        if deletes[-1] == 204:
            outcomes.append("deleted")
            assert not acknowledged, f"round {round_no}: tasks {acknowledged} acknowledged on a deleted board"
            assert not _in_use(record)
            assert not on_board, f"round {round_no}: tasks left on the deleted board: {on_board}"
            assert not (index.value or {}).get("ids"), f"round {round_no}: the index lists {index.value}"
            for who in (owner, editor):
                assert board_id not in (gateway.get(memberships_key(who.id)).value or {}).get("boards", {})
                assert who.call("GET", f"/api/v1/boards/{board_id}")[0] == 404
                assert who.call("POST", f"/api/v1/boards/{board_id}/tasks", {"title": "late"})[0] == 404
            assert not stored_tasks_naming(stack, board_id).keys() - stored.keys()  # the late creates left nothing
        else:
            outcomes.append("kept")
            assert _in_use(record)
            assert acknowledged and on_board == {store.task_key(i) for i in acknowledged}
            listed = owner.call("GET", f"/api/v1/boards/{board_id}/tasks")[1]
            assert {t["id"] for t in listed["items"]} == acknowledged
            for task_id in acknowledged:
                assert editor.call("GET", f"/api/v1/tasks/{task_id}")[0] == 200
    print(f"\n{ROUNDS} rounds of a deletion racing {CREATORS} creates: {outcomes}")


def test_inviting_someone_on_as_many_boards_as_allowed_changes_nothing(app, crew, gateway):
    owner = crew["owner"]
    full = _person(app)
    full_id = user_id_of(full)
    boards = {f"b_{n:032x}": {"role": "viewer", "name": f"Elsewhere {n}"} for n in range(model.MAX_BOARDS)}
    gateway.create(memberships_key(full_id), {"boards": boards})
    status, board, _ = owner.call("POST", "/api/v1/boards", {"name": "No room"})
    board_id = board["id"]
    before = gateway.get(board_key(board_id)).value

    status, body, _ = owner.call("POST", f"/api/v1/boards/{board_id}/members",
                                 {"username": full.username, "role": "editor"}, {"If-Match": "*"})
    assert status == 422 and str(model.MAX_BOARDS) in body["message"]
    assert gateway.get(board_key(board_id)).value == before  # not named on the board, not even for a moment
    assert gateway.get(memberships_key(full_id)).value == {"boards": boards}
    assert full.get(f"/boards/{board_id}").status_code == 404


def test_a_role_raise_racing_a_removal_never_leaves_hidden_access(app, crew, gateway):
    owner = crew["owner"]
    member = _person(app)
    member_id = user_id_of(member)
    status, board, _ = owner.call("POST", "/api/v1/boards", {"name": "Contested"})
    board_id = board["id"]
    status, task, _ = owner.call("POST", f"/api/v1/boards/{board_id}/tasks", {"title": "Secret plan"})
    outcomes = []
    for round_no in range(ROUNDS * 2):
        assert owner.call("POST", f"/api/v1/boards/{board_id}/members",
                          {"username": member.username, "role": "viewer"}, {"If-Match": "*"})[0] == 201
        url = f"/api/v1/boards/{board_id}/members/{member_id}"
        with ThreadPoolExecutor(max_workers=4) as pool:
            raises = [pool.submit(owner.call, "PUT", url, {"role": "editor"}, {"If-Match": "*"}) for _ in range(3)]
            removal = pool.submit(owner.call, "DELETE", url, None, {"If-Match": "*"})
            answers = [f.result()[0] for f in raises] + [removal.result()[0]]
        listed = model.role_of(gateway.get(board_key(board_id)).value, member_id)
        can_read = member.get(f"/tasks/{task['id']}").status_code
        outcomes.append((tuple(answers), listed))
        assert can_read == (200 if listed else 404), f"round {round_no}: {answers}, board lists {listed}"
        if listed:
            assert owner.call("DELETE", url, None, {"If-Match": "*"})[0] == 204
        assert member.get(f"/tasks/{task['id']}").status_code == 404
    print(f"\nraise × 3 racing a removal: {outcomes}")


def test_a_deletion_that_fails_half_way_leaves_no_access_and_repeating_it_finishes_it(app, monkeypatch, gateway):
    """The sidecar fails while the members' records are being updated: no member can reach the board
    meanwhile, and the owner's repeated DELETE completes the deletion."""
    from webapp.boards import store as board_store
    from webapp.dapr_gateway import Unavailable

    owner, member = _person(app), _person(app)
    auth = {"Authorization": f"Bearer {make_token(owner, 'half-way')}"}
    client = app.test_client()
    board_id = client.post("/api/v1/boards", json={"name": "Half gone"}, headers=auth).get_json()["id"]
    assert client.post(f"/api/v1/boards/{board_id}/members", json={"username": member.username, "role": "editor"},
                       headers={**auth, "If-Match": "*"}).status_code == 201
    real = board_store.set_membership

    def failing(user_id, board, entry):
        if entry is None:  # the first member's record to drop the board: every member still lists it
            raise Unavailable("the sidecar went away")
        return real(user_id, board, entry)

    monkeypatch.setattr(board_store, "set_membership", failing)
    assert client.delete(f"/api/v1/boards/{board_id}", headers={**auth, "If-Match": "*"}).status_code == 503
    for person in (owner, member):
        assert board_id in gateway.get(memberships_key(user_id_of(person))).value["boards"]  # still listed there
        for url in (f"/boards/{board_id}", f"/tasks?board={board_id}", f"/boards/{board_id}/changes",
                    f"/boards/{board_id}/members", f"/tasks/new?board={board_id}"):
            assert person.get(url).status_code == 404, (url, person.username)
    monkeypatch.setattr(board_store, "set_membership", real)
    assert client.delete(f"/api/v1/boards/{board_id}", headers={**auth, "If-Match": "*"}).status_code == 204
    for person in (owner, member):
        assert board_id not in (gateway.get(memberships_key(user_id_of(person))).value or {}).get("boards", {})
    assert client.delete(f"/api/v1/boards/{board_id}", headers={**auth, "If-Match": "*"}).status_code == 404


def test_a_board_deleted_while_the_broker_is_down_strands_no_event_of_its_deleted_tasks(user, gateway, monkeypatch):
    """Its tombstones' events must be out before they are taken off the board: afterwards no index lists them.
    Until then the deletion cannot go on, and the board is back in use (a task created while the deletion was
    refused stays reachable; before, the board stayed closing until the sweep reopened it: PostgreSQL soak,
    seed 144542)."""
    from tests.conftest import eventually
    from tests.integration.boards import board_task, board_version, create_board
    from webapp.dapr_gateway import Unavailable

    def broker_down(*_args, **_kwargs):
        raise Unavailable("publish: the broker is down")

    board_id = create_board(user, "Deleted during an outage")
    task_id = board_task(user, board_id, title="Deleted while the broker is down")
    version = board_version(user, board_id)
    monkeypatch.setattr(gateway, "publish", broker_down)
    assert user.action(task_id, "delete").status_code == 302  # stored; its event waits in the outbox
    event_id = gateway.get(store.task_key(task_id)).value["outbox"][-1]
    refused = user.form_post(f"/boards/{board_id}/delete", {"version": version}, page_url="/boards")
    assert refused.status_code == 503
    assert gateway.get(store.task_key(task_id)).value["board_id"] == board_id  # still listed: the relay finds it
    assert not gateway.get(board_key(board_id)).value.get("closing")  # reopened: nothing was taken off it
    later = board_task(user, board_id, title="Created after the refused deletion")
    assert user.get(f"/boards/{board_id}").status_code == 200 and user.get(f"/tasks/{later}").status_code == 200
    monkeypatch.undo()  # the broker is back; the owner deletes it again
    assert user.action(later, "delete").status_code == 302
    version = board_version(user, board_id)
    assert user.form_post(f"/boards/{board_id}/delete", {"version": version}, page_url="/boards").status_code == 302
    eventually(lambda: not gateway.get(store.outbox_key(event_id)).exists)  # published and handled


def _stall_deletion(gateway, board_id: str, seconds_ago: float) -> None:
    """The board record as a deletion leaves it when it stops after its first step (marked closing)."""
    from datetime import datetime, timedelta, timezone

    item = gateway.get(board_key(board_id))
    since = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    gateway.save_versioned(item.key, model.closing(item.value, since), item.etag)


def _sweep(app, owner) -> dict:
    from webapp.background import sweep

    with app.app_context():
        return sweep.sweep_batch([user_id_of(owner)])


def test_a_stalled_deletion_that_a_create_raced_is_undone_by_the_sweep(app, gateway):
    """A create acknowledged while a deletion started, which then stopped half-way (its owner got a 503): the
    board stayed closing, its task out of everyone's reach; the sweep reopens it (PostgreSQL soak, seed 421240)."""
    from tests.integration.boards import board_task, create_board, invite

    owner, member = _person(app), _person(app)
    board_id = create_board(owner, "Raced")
    assert invite(owner, board_id, member, "editor").status_code == 302
    task_id = board_task(member, board_id, title="Created meanwhile")
    _stall_deletion(gateway, board_id, seconds_ago=model_seconds() + 5)
    assert member.get(f"/tasks/{task_id}").status_code == 404  # closing: out of reach
    assert _sweep(app, owner)["reopened"] == 1
    assert model.is_open(gateway.get(board_key(board_id)).value)
    assert member.get(f"/tasks/{task_id}").status_code == 200
    assert board_id in gateway.get(memberships_key(user_id_of(member))).value["boards"]


def test_a_stalled_deletion_of_an_empty_board_is_finished_by_the_sweep_and_a_fresh_one_left_alone(app, gateway):
    from tests.integration.boards import create_board, invite

    owner, member = _person(app), _person(app)
    stalled, running = create_board(owner, "Stalled"), create_board(owner, "Running")
    for board_id in (stalled, running):
        assert invite(owner, board_id, member, "viewer").status_code == 302
    _stall_deletion(gateway, stalled, seconds_ago=model_seconds() + 5)
    _stall_deletion(gateway, running, seconds_ago=1)  # a deletion still under way: not the sweep's to finish
    assert _sweep(app, owner)["deleted"] == 1
    assert gateway.get(board_key(stalled)).value.get("deleted")
    still = gateway.get(board_key(running)).value
    assert still.get("closing") and not still.get("deleted")
    for person in (owner, member):
        boards = (gateway.get(memberships_key(user_id_of(person))).value or {}).get("boards", {})
        assert stalled not in boards and running in boards


def model_seconds() -> float:
    from webapp.boards.deletion import STALLED_DELETION_SECONDS

    return STALLED_DELETION_SECONDS


def test_a_deletion_marks_the_board_deleted_before_its_owners_let_go_and_the_sweep_drops_what_is_left(app, gateway,
                                                                                                    monkeypatch):
    """The sidecar gone between the mark and the owner's entry: the board is deleted (its record expires), and
    the sweep drops the owner's lingering entry. Before, the owner's entry went first and a deletion that
    stopped there left a closing record for ever that neither a repeated DELETE (404) nor the sweep could reach
    (Redis soak, seed 968664)."""
    from tests.integration.boards import board_version, create_board, invite
    from webapp.boards import store as board_store
    from webapp.dapr_gateway import Unavailable

    owner, member = _person(app), _person(app)
    board_id = create_board(owner, "Let go last")
    assert invite(owner, board_id, member, "editor").status_code == 302
    real, owner_id = board_store.set_membership, user_id_of(owner)

    def failing(user_id, board, entry):
        if entry is None and user_id == owner_id:
            raise Unavailable("the sidecar went away")
        return real(user_id, board, entry)

    monkeypatch.setattr(board_store, "set_membership", failing)
    version = board_version(owner, board_id)
    assert owner.form_post(f"/boards/{board_id}/delete", {"version": version},
                           page_url=f"/boards/{board_id}/members").status_code == 503
    monkeypatch.setattr(board_store, "set_membership", real)
    assert gateway.get(board_key(board_id)).value.get("deleted")
    assert board_id not in (gateway.get(memberships_key(user_id_of(member))).value or {}).get("boards", {})
    assert board_id in gateway.get(memberships_key(owner_id)).value["boards"]
    assert owner.get(f"/boards/{board_id}").status_code == 404
    assert _sweep(app, owner)["lingering entry"] == 1
    assert board_id not in gateway.get(memberships_key(owner_id)).value["boards"]


def test_a_deleted_boards_tasks_leave_no_history_watchers_or_comments_even_when_the_deletion_stopped(app, gateway, stack,
                                                                                                       monkeypatch):
    """A deleted board's tombstones are taken off it and expire; what they leave beside their documents goes
    with them — also when the deletion stopped between the two and was repeated. Before, a deleted board's
    tasks left their history, watchers and comments in the store for ever (no index lists them any more)."""
    from tests.integration.boards import board_task, board_version, create_board, invite
    from webapp.boards import deletion
    from webapp.dapr_gateway import Unavailable
    from webapp.keys import comment_key, history_key, watchers_key

    owner, member = _person(app), _person(app)
    board_id = create_board(owner, "Leaves nothing")
    assert invite(owner, board_id, member, "editor").status_code == 302
    task_id = board_task(owner, board_id, title="Talked over, then deleted")
    page = f"/tasks/{task_id}"
    assert member.form_post(f"{page}/watch", {"watch": "1"}, page_url=page).status_code == 302
    assert member.form_post(f"{page}/comments", {"text": "Noted"}, page_url=page).status_code == 302
    assert owner.action(task_id, "delete").status_code == 302
    comment_ids = gateway.get(store.task_key(task_id)).value["comments"]
    remains = [history_key(task_id), watchers_key(task_id), *(comment_key(task_id, c) for c in comment_ids)]
    assert comment_ids and all(gateway.get(key).exists for key in remains)

    def stopped(_items):
        raise Unavailable("the sidecar went away")

    monkeypatch.setattr(store, "clear_remains", stopped)
    version = board_version(owner, board_id)
    assert owner.form_post(f"/boards/{board_id}/delete", {"version": version}, page_url="/boards").status_code == 503
    assert gateway.get(store.task_key(task_id)).value["board_id"] == deletion.detached_from(board_id)
    assert all(gateway.get(key).exists for key in remains)  # the deletion stopped right after taking it off
    monkeypatch.undo()
    assert owner.form_post(f"/boards/{board_id}/delete", {"version": version}, page_url="/boards").status_code == 302
    assert [key for key in remains if not cleared(gateway, stack, key)] == []
    assert gateway.get(board_key(board_id)).value.get("deleted")


def test_a_late_event_handling_cannot_write_back_the_history_of_a_deleted_boards_task(app, gateway, stack):
    """The event handler reads a task's history (with its ETag) before the board's deletion clears it, and
    writes after: its guarded write fails and the history stays cleared, expiring. Before, the history was
    deleted, and on Redis an ETag-guarded write to a missing key succeeds (components-contrib
    ``setDefaultQuery``): the handler re-created it for good (Redis soak, seed 736713)."""
    from tests.integration.boards import board_task, board_version, create_board
    from webapp.dapr_gateway import Conflict
    from webapp.keys import history_key

    owner = _person(app)
    board_id = create_board(owner, "Deleted under a late handler")
    task_id = board_task(owner, board_id, title="Its event handled late")
    assert owner.action(task_id, "delete").status_code == 302
    read_first = gateway.get(history_key(task_id))  # what a handler about to record an event has read
    assert read_first.exists and read_first.etag
    version = board_version(owner, board_id)
    assert owner.form_post(f"/boards/{board_id}/delete", {"version": version}, page_url="/boards").status_code == 302
    late = {"items": [{"id": "late-event", "type": "task.updated"}, *read_first.value["items"]]}
    with pytest.raises(Conflict):
        gateway.save_versioned(history_key(task_id), late, read_first.etag)
    assert cleared(gateway, stack, history_key(task_id))


def test_a_deleted_board_leaves_no_reminder_or_overdue_job(app, gateway):
    """Its tasks' jobs go with their deletion events, which a board deletion waits to see published."""
    from datetime import datetime, timedelta, timezone

    from tests.conftest import eventually
    from tests.integration.boards import board_task, board_version, create_board
    from webapp.background import overdue, reminders

    owner = _person(app)
    board_id = create_board(owner, "Nothing scheduled after it")
    later = [(datetime.now(timezone.utc) + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M") for h in (2, 1)]
    task_id = board_task(owner, board_id, title="Due later", due_at=later[0], remind_at=later[1])
    jobs = [reminders.job_name(task_id), overdue.job_name(task_id)]
    eventually(lambda: all(gateway.get_job(name) for name in jobs))
    assert owner.action(task_id, "delete").status_code == 302
    version = board_version(owner, board_id)
    assert owner.form_post(f"/boards/{board_id}/delete", {"version": version}, page_url="/boards").status_code == 302
    eventually(lambda: [name for name in jobs if gateway.get_job(name)] == [])
    assert gateway.get(board_key(board_id)).value.get("deleted")
