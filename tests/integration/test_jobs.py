"""Time-driven work: an overdue job per task; the sweep and the relay run once per period, an empty run is cheap."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import eventually
from webapp import background, keys, state_lists, users_index
from webapp.background import digests, horizon, leases, overdue, relay, reminders, sweep, task_jobs
from webapp.tasks import model, service, store
from webapp.tasks.model import TaskFields

CALLS = ("get", "get_many", "save", "create", "save_versioned", "delete", "transact", "publish", "invoke",
         "schedule_job", "delete_job", "get_job")


@pytest.fixture
def sidecar_calls(gateway, monkeypatch):
    """Every call the in-process app makes to its sidecar, by method (the real calls still happen)."""
    calls: list[str] = []
    for name in CALLS:
        real = getattr(gateway, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(gateway, name, counted)
    return calls


def _binding(stack, name: str) -> dict:
    req = urllib.request.Request(stack.url() + f"/{name}", data=b"", method="POST",
                                 headers={"dapr-api-token": stack.app_token})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


@pytest.fixture
def own_leases(monkeypatch) -> dict[str, str]:
    """The in-process app's relay and sweep under lease names of this test's own: the stack's relay (every
    10 s) and sweep would otherwise win a lease the test has just deleted before the test takes it."""
    names = {}
    for binding, periodic in list(background.PERIODIC.items()):
        names[binding] = f"{periodic.lease}-test-{uuid.uuid4().hex}"
        monkeypatch.setitem(background.PERIODIC, binding, replace(periodic, lease=names[binding]))
    return names


def test_two_concurrent_cron_triggers_sweep_once(gateway, stack):
    gateway.delete(leases.lease_key("sweep"))  # a period with no sweep yet
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: _binding(stack, "cron"), range(2)))
    assert [a["status"] for a in answers] == ["done", "done"]
    assert sorted(a["leased"] for a in answers) == [0, 1]
    assert "users" in next(a for a in answers if a["leased"]) and "users" not in next(
        a for a in answers if not a["leased"])
    assert _binding(stack, "cron")["leased"] == 0  # still this period: the lease has not expired
    assert gateway.get(leases.lease_key("sweep")).exists


def test_the_lease_expires_with_its_ttl(app, gateway, monkeypatch, own_leases):
    monkeypatch.setitem(background.PERIODIC, "relay", replace(background.PERIODIC["relay"], lease_seconds=1))
    with app.app_context():
        assert background.run_periodic("relay")["leased"] == 1
        assert background.run_periodic("relay")["leased"] == 0
        eventually(lambda: background.run_periodic("relay")["leased"] == 1, timeout=10, interval=0.5)


def test_an_empty_relay_and_a_skipped_sweep_cost_a_constant_number_of_sidecar_calls(app, gateway, sidecar_calls,
                                                                                    own_leases):
    with app.app_context():
        eventually(lambda: not state_lists.read(relay.PENDING)[0], timeout=30)  # nothing pending
        sidecar_calls.clear()
        assert background.run_periodic("relay") == {"leased": 1, "users": 0, "events": 0}
        empty_relay = Counter(sidecar_calls)
        sidecar_calls.clear()
        assert background.run_periodic("relay") == {"leased": 0}
        held_relay = Counter(sidecar_calls)
        until = (datetime.now(timezone.utc) + timedelta(seconds=60)).isoformat()
        gateway.create(leases.lease_key(own_leases["cron"]), {"host": "another replica", "expires_at": until},
                       ttl_seconds=60)
        sidecar_calls.clear()
        assert background.run_periodic("cron") == {"leased": 0}
        held_sweep = Counter(sidecar_calls)
        gateway.delete(leases.lease_key(own_leases["cron"]))
        gateway.delete(leases.lease_key(own_leases["relay"]))
    print(f"\nsidecar calls: empty relay {dict(empty_relay)}, relay on a held lease {dict(held_relay)}, "
          f"sweep on a held lease {dict(held_sweep)}")
    assert empty_relay == {"create": 1, "get": 1}
    assert held_relay == held_sweep == {"create": 1, "get": 1}  # the holder's expiry is read


def test_the_sweep_walks_users_a_page_per_run_and_comes_round_to_each_once(app, gateway, owner, monkeypatch,
                                                                            sidecar_calls):
    monkeypatch.setattr(sweep, "PAGE_USERS", 3)
    monkeypatch.setattr(sweep, "USERS_PER_READ", 2)
    swept: list[str] = []
    real_batch = sweep.sweep_batch
    monkeypatch.setattr(sweep, "sweep_batch", lambda ids: (swept.extend(ids), real_batch(ids))[1])
    with app.app_context():
        service.create(owner, TaskFields("Swept"))
        for n in range(7):  # ids with no account and no tasks, as a registration that failed half-way leaves
            users_index.remember_user(f"sweep-walk-{n}-{owner}")
        everyone = users_index.all_user_ids()
        runs = -(-len(everyone) // 3)
        for _ in range(runs):  # a first round repairs what earlier tests broke on purpose
            sweep.run()
        gateway.delete(keys.SWEEP_CURSOR)
        swept.clear()
        per_run = []
        for _ in range(runs):
            sidecar_calls.clear()
            assert sweep.run()["users"] <= 3
            per_run.append(Counter(sidecar_calls))
    # The walk is one endless cycle: its first len(everyone) visits are everyone, once each.
    assert len(everyone) > 3 and sorted(swept[:len(everyone)]) == sorted(everyone)
    # shards, then per batch of 2: personal indexes and memberships, shared boards' indexes, documents
    reads_bound = users_index.SHARDS // users_index.SHARDS_PER_PAGE + 2 * 3
    print(f"\nsidecar calls per run of 3 users: {[dict(c) for c in per_run[:4]]} …")
    for calls in per_run:  # nothing to repair or relay: reads only, and one write (the cursor)
        assert calls["save"] == 1 and calls["get"] == 1 and calls["get_many"] <= reads_bound, calls
        assert calls["get_job"] == 1 and set(calls) <= {"get", "get_many", "save", "get_job"}, calls


def _due_time(gateway, name: str) -> str:
    return (gateway.get_job(name) or {}).get("due_time", "")


def _edit(owner, task_id, **changes):
    current = store.load(owner, task_id)
    fields = model.fields_of(current)
    return service.update(owner, task_id, current.version, fields.__class__(**{**fields.__dict__, **changes}))


def test_the_overdue_job_follows_the_tasks_due_time(app, gateway, owner):
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    task = service.create(owner, TaskFields("File taxes", due_at=due))
    name = overdue.job_name(task.id)
    assert name == f"overdue-{task.id}"
    eventually(lambda: _due_time(gateway, name).startswith(due.strftime("%Y-%m-%dT%H:%M:%S")))
    moved = due + timedelta(days=1)
    _edit(owner, task.id, due_at=moved)
    eventually(lambda: _due_time(gateway, name).startswith(moved.strftime("%Y-%m-%dT%H:%M:%S")))
    _edit(owner, task.id, due_at=None)  # no due time, nothing to be late for
    eventually(lambda: gateway.get_job(name) is None)
    _edit(owner, task.id, due_at=moved)
    eventually(lambda: gateway.get_job(name))
    service.complete(owner, task.id, store.load(owner, task.id).version)
    eventually(lambda: gateway.get_job(name) is None)
    other = service.create(owner, TaskFields("Book flights", due_at=due))
    eventually(lambda: gateway.get_job(overdue.job_name(other.id)))
    service.delete(owner, other.id, store.load(owner, other.id).version)
    eventually(lambda: gateway.get_job(overdue.job_name(other.id)) is None)


def test_an_overdue_job_fired_twice_alerts_once(app, gateway, owner, stack):
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    task = service.create(owner, TaskFields("Send the invoice", due_at=due))
    name = overdue.job_name(task.id)
    eventually(lambda: gateway.get_job(name))
    body = json.dumps(overdue.job_data(owner, task)).encode()
    answers = []
    for _ in range(2):  # as the scheduler would, twice (a retried delivery)
        req = urllib.request.Request(stack.url() + f"/job/{name}", data=body, method="POST",
                                     headers={"dapr-api-token": stack.app_token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            answers.append(json.loads(resp.read())["status"])
    assert answers == ["notified", "alerted before"]
    delivered = list(Path(stack.run_dir, "deliveries").glob(f"{owner}-{overdue.notification_id(task)}-*.json"))
    assert len(delivered) == 1 and json.loads(delivered[0].read_text())["kind"] == "task.overdue"
    # A job for a due time the task no longer has does nothing.
    _edit(owner, task.id, due_at=due + timedelta(hours=1))
    assert overdue.fire(overdue.job_data(owner, task)) == "stale"


def test_a_due_time_already_past_alerts_at_once_and_only_once(app, gateway, owner, stack):
    due = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    task = service.create(owner, TaskFields("Already late", due_at=due))
    pattern = f"{owner}-{overdue.notification_id(task)}-*.json"
    eventually(lambda: list(Path(stack.run_dir, "deliveries").glob(pattern)), timeout=30)  # the real scheduler
    _edit(owner, task.id, title="Already late, renamed")  # an event after the alert: no new job
    eventually(lambda: gateway.get_job(overdue.job_name(task.id)) is None)
    assert len(list(Path(stack.run_dir, "deliveries").glob(pattern))) == 1


def test_reconcile_recreates_lost_reminder_and_overdue_jobs(app, gateway, owner):
    later = datetime.now(timezone.utc) + timedelta(days=1)
    task = service.create(owner, TaskFields("Renew the lease", due_at=later, remind_at=later - timedelta(hours=1)))
    names = [reminders.job_name(task.id), overdue.job_name(task.id)]
    eventually(lambda: all(gateway.get_job(n) for n in names))
    for name in names:
        gateway.delete_job(name)  # the scheduler lost them
    names.append(digests.job_name(owner))
    gateway.delete_job(digests.job_name(owner))
    first = background.reconcile_jobs([owner])
    assert first["created"] == 3 and all(gateway.get_job(n) for n in names)
    assert background.reconcile_jobs([owner])["created"] == 0


def test_registration_schedules_the_digest_at_the_next_eight_local(app, gateway, owner):
    due = datetime.fromisoformat(gateway.get_job(digests.job_name(owner))["due_time"].replace("Z", "+00:00"))
    record = gateway.get(f"user:{owner}").value
    local = due.astimezone(ZoneInfo(record["timezone"]))
    assert (local.hour, local.minute) == (8, 0) and due - datetime.now(timezone.utc) <= timedelta(days=1)


def test_changing_the_digest_time_or_zone_in_settings_moves_the_job(app, gateway, owner, user):
    page = user.client.get("/settings").get_data(as_text=True)
    assert 'name="digest_time"' in page and 'value="08:00"' in page
    resp = user.form_post("/settings", {"timezone": "America/New_York", "digest_time": "18:30"})
    assert resp.status_code == 302
    due = datetime.fromisoformat(gateway.get_job(digests.job_name(owner))["due_time"].replace("Z", "+00:00"))
    local = due.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (18, 30)
    assert timedelta(0) < due - datetime.now(timezone.utc) <= timedelta(days=1)
    assert digests.stored_time(owner) == "18:30"
    bad = user.form_post("/settings", {"timezone": "America/New_York", "digest_time": "25:99"})
    assert bad.status_code == 422 and "HH:MM" in bad.get_data(as_text=True)


def test_reconcile_jobs_and_its_old_name_re_create_every_kind(app, gateway, owner):
    later = datetime.now(timezone.utc) + timedelta(days=2)
    task = service.create(owner, TaskFields("Pay rent", due_at=later))
    eventually(lambda: gateway.get_job(overdue.job_name(task.id)))
    for command in ("reconcile-jobs", "reconcile-reminders"):
        gateway.delete_job(overdue.job_name(task.id))
        gateway.delete_job(digests.job_name(owner))
        result = app.test_cli_runner().invoke(args=[command])
        assert result.exit_code == 0, result.output
        assert "re-created" in result.output
        assert gateway.get_job(overdue.job_name(task.id)) and gateway.get_job(digests.job_name(owner))


def _bucket(gateway, task_id: str, due: datetime) -> list[str]:
    key = keys.horizon_bucket_key(horizon.bucket_day(due), overdue.job_name(task_id))
    return [e["id"] for e in (gateway.get(key).value or {}).get("items", [])]


def test_a_job_due_beyond_the_horizon_waits_in_state_until_its_day(app, gateway, owner, monkeypatch):
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    task = service.create(owner, TaskFields("Renew the domain", due_at=due))
    name = overdue.job_name(task.id)
    eventually(lambda: name in _bucket(gateway, task.id, due))  # the handler deferred it
    assert gateway.get_job(name) is None  # not in the scheduler: it holds what is due within the window
    day, key = horizon.bucket_day(due), keys.horizon_bucket_key(horizon.bucket_day(due), name)
    monkeypatch.setattr(horizon, "WINDOW", timedelta(days=40))  # as if that day had come
    assert horizon.sync_day(day, background.resync_deferred) >= 1
    assert _due_time(gateway, name).startswith(due.strftime("%Y-%m-%dT%H:%M:%S"))
    assert not gateway.get(key).exists  # the bucket is dropped once synced


def test_moving_a_due_time_beyond_the_horizon_takes_its_job_out_of_the_scheduler(app, gateway, owner):
    near = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=3)
    task = service.create(owner, TaskFields("Plan the offsite", due_at=near))
    name = overdue.job_name(task.id)
    eventually(lambda: gateway.get_job(name))
    far = near + timedelta(days=60)
    _edit(owner, task.id, due_at=far)
    eventually(lambda: gateway.get_job(name) is None and name in _bucket(gateway, task.id, far))
    _edit(owner, task.id, due_at=near)  # and back: scheduled again at once (the bucket entry is only a hint)
    eventually(lambda: _due_time(gateway, name).startswith(near.strftime("%Y-%m-%dT%H:%M:%S")))


def test_the_horizon_job_fires_daily_and_the_sweep_keeps_it_scheduled(app, gateway, stack):
    with app.app_context():
        gateway.delete_job(horizon.JOB_NAME)
        sweep.run()  # the scheduler lost it: the next sweep run schedules it again
        due = _due_time(gateway, horizon.JOB_NAME)
        expected = horizon.next_firing(datetime.now(timezone.utc))
        assert due.startswith(expected.strftime("%Y-%m-%dT%H:%M:%S")), due
        gateway.delete(keys.HORIZON_DONE)
    req = urllib.request.Request(stack.url() + f"/job/{horizon.JOB_NAME}", method="POST",
                                 data=json.dumps({"kind": "horizon", "at": due}).encode(),
                                 headers={"dapr-api-token": stack.app_token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert json.loads(resp.read())["status"].startswith("synced ")
    today = datetime.now(timezone.utc).date()
    assert gateway.get(keys.HORIZON_DONE).value == {"day": today.isoformat()}  # every day up to today synced
    assert _due_time(gateway, horizon.JOB_NAME).startswith(expected.strftime("%Y-%m-%dT%H:%M:%S"))


def _shared_board(gateway, owner: str) -> str:
    from webapp.boards import store as boards
    return boards.create(owner, "owner-name", f"Shared {owner[:6]}")["id"]


def test_jobs_of_a_task_on_a_shared_board_fire_and_reconcile(app, gateway, owner, stack):
    board_id = _shared_board(gateway, owner)
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    task = service.create(owner, TaskFields("Ship the release", due_at=due), board_id=board_id)
    name = overdue.job_name(task.id)
    eventually(lambda: gateway.get_job(name))
    data = overdue.job_data(owner, task)
    assert data["board_id"] == board_id
    assert task_jobs.current_task(data, "due_at").id == task.id  # read on its board, not the owner's
    gateway.delete_job(name)  # the scheduler lost it: reconcile walks the boards the user owns
    assert background.reconcile_jobs([owner])["created"] >= 1 and gateway.get_job(name)


def test_the_sweep_repairs_rows_of_the_shared_boards_a_user_owns(app, gateway, owner):
    board_id = _shared_board(gateway, owner)
    task = service.create(owner, TaskFields("Before"), board_id=board_id)
    item = gateway.get(store.task_key(task.id))
    gateway.save(item.key, {**item.value, "title": "After", "revision": 7}, etag=item.etag)
    sweep.sweep_batch([owner])
    rows = gateway.get(store.index_key(board_id)).value["rows"]
    assert rows[task.id][0] == "After"
