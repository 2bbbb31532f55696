"""Reminders on the Jobs API, recurring tasks, delivery through the binding, the cron sweep."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from tests.conftest import eventually
from webapp import background
from webapp.background import digests, overdue, reminders
from webapp.tasks import creation, model, service, store
from webapp.tasks.model import TaskFields

REMINDER_LATENCIES: list[float] = []


def inbox(gateway, user_id):
    return (gateway.get(f"inbox:{user_id}").value or {}).get("items", [])


def test_reminder_fires_into_the_inbox_and_through_the_delivery_binding(app, gateway, owner, stack):
    remind_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    task = service.create(owner, TaskFields("Call the dentist", remind_at=remind_at))
    items = eventually(lambda: [i for i in inbox(gateway, owner) if i["kind"] == "task.reminder"], timeout=30)
    arrived = datetime.fromisoformat(items[0]["at"])
    REMINDER_LATENCIES.append((arrived - remind_at).total_seconds())
    assert "Call the dentist" in items[0]["message"] and items[0]["task_id"] == task.id
    delivered = list(Path(stack.run_dir, "deliveries").glob(f"{owner}-reminder-{task.id}-*.json"))
    assert len(delivered) == 1
    assert json.loads(delivered[0].read_text())["kind"] == "task.reminder"
    print(f"\nreminder latency (scheduled time → inbox): {REMINDER_LATENCIES[-1]:.2f}s")


def test_editing_moves_the_job_and_completing_or_deleting_removes_it(app, gateway, owner):
    later = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    task = service.create(owner, TaskFields("Water plants", remind_at=later))
    name = reminders.job_name(task.id)
    eventually(lambda: gateway.get_job(name))
    moved = later + timedelta(hours=1)
    current = store.load(owner, task.id)
    service.update(owner, task.id, current.version, model.fields_of(current).__class__(
        **{**model.fields_of(current).__dict__, "remind_at": moved}))
    eventually(lambda: (gateway.get_job(name) or {}).get("due_time", "").startswith(moved.strftime("%Y-%m-%dT%H:%M")))
    service.complete(owner, task.id, store.load(owner, task.id).version)
    eventually(lambda: gateway.get_job(name) is None)
    other = service.create(owner, TaskFields("Feed cat", remind_at=later))
    eventually(lambda: gateway.get_job(reminders.job_name(other.id)))
    service.delete(owner, other.id, store.load(owner, other.id).version)
    eventually(lambda: gateway.get_job(reminders.job_name(other.id)) is None)


def test_reconcile_recreates_lost_jobs_without_duplicates(app, gateway, owner):
    later = datetime.now(timezone.utc) + timedelta(days=1)
    task = service.create(owner, TaskFields("Renew passport", remind_at=later))
    name = reminders.job_name(task.id)
    eventually(lambda: gateway.get_job(name))
    gateway.delete_job(name)  # the scheduler lost it
    first = background.reconcile_jobs([owner])
    assert first["created"] == 1 and gateway.get_job(name)
    assert background.reconcile_jobs([owner])["created"] == 0


def _deliver_twice(stack, data):
    """Deliver the same CloudEvent to the subscription route twice, as a redelivering broker would."""
    body = json.dumps({"id": data["event_id"], "type": data["type"], "data": data}).encode()
    for _ in range(2):
        req = urllib.request.Request(stack.url() + "/events/task-events", data=body, method="POST",
                                     headers={"content-type": "application/cloudevents+json",
                                              "dapr-api-token": stack.app_token})
        with urllib.request.urlopen(req, timeout=15) as resp:
            assert json.loads(resp.read())["status"] == "SUCCESS"


def test_completing_a_recurring_task_creates_exactly_one_next_instance(app, gateway, owner, stack):
    due = datetime(2031, 1, 31, 9, 0, tzinfo=timezone.utc)
    task = service.create(owner, TaskFields("Pay rent", due_at=due, recurrence="monthly"))
    done = service.complete(owner, task.id, store.load(owner, task.id).version)
    # The real completion event is being delivered by Dapr; deliver it twice more by hand.
    from webapp import events
    _deliver_twice(stack, events.task_event("task.completed", done, datetime.now(timezone.utc)))
    expected = datetime(2031, 2, 28, 9, 0, tzinfo=timezone.utc)

    def next_ones():
        return [t for t in store.load_all(owner) if t.series_id == task.id and t.id != task.id]

    found = eventually(next_ones)
    time.sleep(2)  # give any duplicate a chance to appear
    assert len(next_ones()) == 1
    assert found[0].due_at == expected and found[0].status == "pending"


def test_a_digest_job_fired_twice_sends_one_digest_and_schedules_the_next(app, gateway, owner, stack):
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    service.create(owner, TaskFields("Late report", due_at=past))
    name = digests.job_name(owner)
    body = json.dumps({"kind": "digest", "user_id": owner, "at": datetime.now(timezone.utc).isoformat()}).encode()
    for _ in range(2):  # the scheduler delivers it twice (a retry)
        req = urllib.request.Request(stack.url() + f"/job/{name}", data=body, method="POST",
                                     headers={"dapr-api-token": stack.app_token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert json.loads(resp.read())["status"] == "sent"
    items = eventually(lambda: [n for n in inbox(gateway, owner) if n["kind"] == "digest"])
    time.sleep(1)
    assert len([n for n in inbox(gateway, owner) if n["kind"] == "digest"]) == 1
    assert "1 overdue" in items[0]["message"]
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)  # the user's zone is UTC: 08:00 UTC tomorrow or today
    assert gateway.get_job(name)["due_time"][:16] in (
        f"{tomorrow:%Y-%m-%d}T08:00", f"{datetime.now(timezone.utc):%Y-%m-%d}T08:00")


def test_cron_binding_is_wired_to_the_app(stack):
    meta = json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{stack.ports.apps['taskboard'].http}/v1.0/metadata", timeout=5).read())
    names = {c["name"]: c["type"] for c in meta["components"]}
    assert names.get("cron") == "bindings.cron"


def test_inserting_a_task_someone_already_created_is_a_no_op(app, gateway, owner):
    """A derived id (the next instance) can be created by two deliveries at once: the loser stops, not loops.

    Once the winner has cleared the outbox with an ETag, Dapr's Redis store refuses writes without one to
    that key, so retrying the loser's transaction could never succeed.
    """
    task = service.create(owner, TaskFields("Created by the other delivery"))
    assert creation.insert(task, []) is False
    assert [t.id for t in store.load_all(owner)].count(task.id) == 1


def test_a_completion_undone_before_its_event_is_handled_makes_no_next_instance(app, gateway, owner):
    """The completion's event reaches the subscriber only after the user reopened the task."""
    from webapp import events
    task = service.create(owner, TaskFields("Water the garden", due_at=datetime(2031, 3, 1, 8, 0, tzinfo=timezone.utc),
                                            recurrence="weekly"))
    # What completing it published, delivered late: by then the stored task is pending again.
    late = events.task_event("task.completed", model.completed(task, datetime.now(timezone.utc)),
                             datetime.now(timezone.utc), version=str(task.revision + 1))
    gateway.publish(app.config["TASK_EVENTS_TOPIC"], late, events.publish_metadata(late))
    eventually(lambda: gateway.get(f"processed:task-events:{late['event_id']}").exists)
    time.sleep(1)
    assert [t.id for t in store.load_all(owner) if t.series_id == task.id] == [task.id]
    # The completion itself is still history, and was notified.
    assert "task.completed" in [e["type"] for e in gateway.get(f"activity:{task.id}").value["items"]]


def _set_zone(user, tz: str) -> None:
    resp = user.form_post("/settings", {"timezone": tz})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]


def test_a_reminder_shows_the_due_time_in_the_users_current_zone(app, gateway, owner, user):
    remind_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=4)
    due = datetime(2031, 6, 1, 12, 0, tzinfo=timezone.utc)
    task = service.create(owner, TaskFields("Call the bank", due_at=due, remind_at=remind_at))  # entered in UTC
    _set_zone(user, "Asia/Tokyo")  # then the user moved
    items = eventually(lambda: [i for i in inbox(gateway, owner) if i["task_id"] == task.id], timeout=30)
    assert "2031-06-01 21:00 Asia/Tokyo" in items[0]["message"] and "UTC" not in items[0]["message"]


def test_the_digest_day_and_overdue_times_are_the_users_not_a_tasks(app, gateway, owner, user):
    now = datetime(2031, 5, 1, 20, 0, tzinfo=timezone.utc)  # 1 May in UTC, already 2 May in Kiritimati (UTC+14)
    service.create(owner, TaskFields("Tomorrow morning", due_at=datetime(2031, 5, 1, 22, 0, tzinfo=timezone.utc)))
    late = service.create(owner, TaskFields("Was due", due_at=datetime(2031, 5, 1, 19, 0, tzinfo=timezone.utc)))
    _set_zone(user, "Pacific/Kiritimati")  # the tasks were entered in UTC
    eventually(lambda: len((gateway.get(store.index_key(owner)).value or {}).get("rows", {})) >= 2)
    assert digests.counts(owner, date(2031, 5, 2), "Pacific/Kiritimati", now) == (2, 1)  # both on 2 May there
    assert background.run_job(overdue.job_name(late.id), overdue.job_data(owner, late)) == "notified"
    alert = eventually(lambda: [n for n in inbox(gateway, owner) if n["kind"] == "task.overdue"])[0]
    assert alert["task_id"] == late.id
    assert "2031-05-02 09:00 Pacific/Kiritimati" in alert["message"]
