"""Nothing delivered twice: one delivery per notification id, one overdue alert per task and due time.

Deliveries are counted as files of the `notify-delivery` binding (`bindings.localstorage`): each delivery
writes its own file, `<user>-<notification id>-<suffix>.json`, so a second delivery shows as a second file.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import app_config, cleared, eventually
from tests.integration.test_events_and_inbox import redis_ttl
from webapp import keys
from webapp.background import overdue, reminders, sweep
from webapp.tasks import service, store
from webapp.tasks.model import TaskFields


def deliveries(stack, user_id: str, notification_id: str) -> list[Path]:
    return sorted(Path(stack.run_dir, "deliveries").glob(f"{user_id}-{notification_id}-*.json"))


def notify(stack, notification: dict) -> tuple[int, dict]:
    """POST /notify straight to notification-service (as its sidecar does, with the app token)."""
    req = urllib.request.Request(stack.url("notification-service") + "/notify",
                                 data=json.dumps(notification).encode(), method="POST",
                                 headers={"content-type": "application/json",
                                          "dapr-api-token": stack.app_token_for("notification-service")})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def notifier_app_on(stack, **overrides):
    """notification-service in-process, talking to its own sidecar (its keys live under its app-id)."""
    from webapp.notification_service import create_app
    ports = stack.ports.apps["notification-service"]
    return create_app(app_config(stack, DAPR_GRPC_PORT=ports.grpc, DAPR_HTTP_PORT=ports.http, **overrides))


@pytest.fixture(scope="module")
def notifier_app(stack):
    return notifier_app_on(stack)


@pytest.fixture(scope="module")
def notifier_state(notifier_app):
    """The notification-service's own state, through its sidecar."""
    return notifier_app.extensions["dapr"]


SIDECAR_CALLS = ("get", "get_many", "save", "create", "delete", "transact", "publish", "invoke", "invoke_binding")


@pytest.fixture
def notifier_calls(notifier_state, monkeypatch):
    """Every call the in-process notification-service makes to its sidecar, by method (the real calls still
    happen; save_versioned is counted as the save or create it makes)."""
    calls: list[str] = []
    for name in SIDECAR_CALLS:
        real = getattr(notifier_state, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(notifier_state, name, counted)
    return calls


def notify_in_process(app, stack, notification: dict) -> tuple[int, dict]:
    resp = app.test_client().post("/notify", json=notification, headers={"dapr-api-token": stack.app_token})
    return resp.status_code, resp.get_json()


def inbox_ids(gateway, user_id: str) -> list[str]:
    return [i["id"] for i in (gateway.get(f"inbox:{user_id}").value or {}).get("items", [])]


def a_notification(**fields) -> dict:
    return {"notification_id": f"once-{uuid.uuid4().hex}", "user_id": f"u{uuid.uuid4().hex[:8]}",
            "task_id": None, "kind": "info", "message": "Hello once", **fields}


def test_twenty_concurrent_calls_for_one_notification_deliver_it_once(stack):
    note = a_notification()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: notify(stack, note), range(20)))
    statuses = Counter((code, body.get("status")) for code, body in answers)
    print(f"\n20 concurrent /notify for one id: {dict(statuses)}")
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1
    assert statuses[(200, "sent")] == 1
    # Every other call was told it is done ("duplicate") or under way (202: its caller retries later).
    assert set(statuses) <= {(200, "sent"), (200, "duplicate"), (202, "in_progress")}
    assert notify(stack, note) == (200, {"status": "duplicate", "notification_id": note["notification_id"]})
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1


def test_a_claim_in_progress_blocks_a_second_delivery_and_a_stale_one_is_taken_over(stack, notifier_state):
    from webapp.keys import notification_done_key, notification_key
    fresh, stale = a_notification(), a_notification()
    now = datetime.now(timezone.utc)
    # An attempt that is delivering right now, and one that died two minutes ago mid-delivery.
    notifier_state.create(notification_key(fresh["notification_id"]),
                          {**fresh, "status": "claimed", "claimed_at": now.isoformat()})
    notifier_state.create(notification_key(stale["notification_id"]),
                          {**stale, "status": "claimed", "claimed_at": (now - timedelta(minutes=2)).isoformat()})
    code, body = notify(stack, fresh)
    assert (code, body["status"]) == (202, "in_progress")
    assert deliveries(stack, fresh["user_id"], fresh["notification_id"]) == []
    assert notify(stack, stale)[1]["status"] == "sent"
    assert len(deliveries(stack, stale["user_id"], stale["notification_id"])) == 1
    assert notifier_state.get(notification_done_key(stale["notification_id"])).value["status"] == "delivered"


def test_through_dapr_an_attempt_in_progress_is_a_conflict_for_the_caller(app, notifier_state):
    """The 202 "in_progress" answer is a Conflict for the caller (it retries later), not an outage."""
    from webapp import notifications
    from webapp.dapr_gateway import Conflict
    from webapp.keys import notification_key
    note = a_notification()
    notifier_state.create(notification_key(note["notification_id"]),
                          {**note, "status": "claimed", "claimed_at": datetime.now(timezone.utc).isoformat()})
    with app.app_context(), pytest.raises(Conflict):
        notifications.notify(note)


def test_answers_in_progress_never_open_the_circuit_breaker_for_other_notifications(app, stack, notifier_state):
    """Through Dapr every non-2xx answer counts toward the resiliency policy's breaker (5 in a row open it for
    15 s): busy answers must not, or a few of them stop every other notification (CI: reminders, overdue
    alerts and digests failing with "circuit breaker is open" after a digest's retries met a live claim)."""
    from webapp import notifications
    from webapp.dapr_gateway import Conflict
    from webapp.keys import notification_key
    busy = a_notification()
    notifier_state.create(notification_key(busy["notification_id"]),
                          {**busy, "status": "claimed", "claimed_at": datetime.now(timezone.utc).isoformat()})
    with app.app_context():
        for _ in range(8):
            with pytest.raises(Conflict):
                notifications.notify(busy)
        other = a_notification()
        assert notifications.notify(other)["status"] == "sent"
    assert len(deliveries(stack, other["user_id"], other["notification_id"])) == 1


def test_a_failed_delivery_gives_up_its_claim_so_the_retry_delivers_at_once(stack, notifier_state):
    from webapp.keys import notification_key
    # The channel fails for real: the binding must create a folder where a file already is.
    blocker = Path(stack.run_dir, "deliveries", f"blocked-{uuid.uuid4().hex[:8]}")
    blocker.write_text("not a folder")
    note = a_notification(user_id=f"{blocker.name}/someone")
    code, body = notify(stack, note)
    assert (code, body["error"]) == (503, "unavailable")
    assert not notifier_state.get(notification_key(note["notification_id"])).exists  # claim released
    blocker.unlink()  # the channel is back
    assert notify(stack, note)[1]["status"] == "sent"
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1


def test_a_notification_costs_four_sidecar_calls_and_a_repeat_two(stack, notifier_app, notifier_calls, gateway):
    """Claim (no read first), deliver, mark delivered, announce; a repeat is its refused claim, one bulk read and
    the announcement again (the inbox keeps one entry per notification id)."""
    from webapp.keys import notification_done_key, notification_key
    from webapp.notification_service.delivery import CLAIM_TTL_SECONDS, RECORD_TTL_SECONDS
    note = a_notification()
    assert notify_in_process(notifier_app, stack, note) == (200, {"status": "sent",
                                                                  "notification_id": note["notification_id"]})
    first = list(notifier_calls)
    notifier_calls.clear()
    assert notify_in_process(notifier_app, stack, note)[1]["status"] == "duplicate"
    repeat = list(notifier_calls)
    print(f"\nnotification-service sidecar calls: a notification {first}, a repeat {repeat}")
    assert first == ["create", "invoke_binding", "create", "publish"]
    assert repeat == ["create", "get_many", "publish"]
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1
    eventually(lambda: note["notification_id"] in inbox_ids(gateway, note["user_id"]))
    # The claim outlives its done marker: a claim that can be created again means the notification was never done.
    claim_ttl = redis_ttl(stack, "notification-service", notification_key(note["notification_id"]))
    done_ttl = redis_ttl(stack, "notification-service", notification_done_key(note["notification_id"]))
    assert RECORD_TTL_SECONDS - 60 < done_ttl <= RECORD_TTL_SECONDS < claim_ttl <= CLAIM_TTL_SECONDS


def test_when_only_the_announcement_failed_the_retry_announces_and_does_not_deliver_again(stack, notifier_state,
                                                                                          gateway):
    """A real publish failure (an instance whose pub/sub component does not exist) after a real delivery."""
    from webapp.keys import notification_done_key, notification_key
    no_broker = notifier_app_on(stack, PUBSUB="no-such-pubsub")
    note = a_notification()
    code, body = notify_in_process(no_broker, stack, note)
    assert (code, body["error"]) == (503, "unavailable")
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1
    assert notifier_state.get(notification_done_key(note["notification_id"])).value["status"] == "delivered"
    assert notifier_state.get(notification_key(note["notification_id"])).exists  # the claim is kept, not released
    # The caller's retry reaches a working instance: it announces only.
    assert notify(stack, note) == (200, {"status": "duplicate", "notification_id": note["notification_id"]})
    eventually(lambda: note["notification_id"] in inbox_ids(gateway, note["user_id"]))
    assert notify(stack, note)[1]["status"] == "duplicate"
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1
    assert inbox_ids(gateway, note["user_id"]).count(note["notification_id"]) == 1


def test_an_announcement_that_failed_is_made_by_the_notifier_itself_once_the_broker_is_back(stack, gateway):
    """The caller's retry cannot be relied on to announce (the task may be deleted before it comes, and its
    handler then notifies nobody): a delivered notification whose announcement failed still reaches the inbox."""
    from dataclasses import replace
    no_broker = notifier_app_on(stack, PUBSUB="no-such-pubsub")
    note = a_notification()
    code, body = notify_in_process(no_broker, stack, note)
    assert (code, body["error"]) == (503, "unavailable")
    notifier_gateway = no_broker.extensions["dapr"]
    notifier_gateway.settings = replace(notifier_gateway.settings, pubsub="pubsub")  # the broker is back
    eventually(lambda: note["notification_id"] in inbox_ids(gateway, note["user_id"]), timeout=60)
    assert len(deliveries(stack, note["user_id"], note["notification_id"])) == 1


def test_an_assignment_delivered_before_its_task_was_deleted_reaches_the_inbox_when_its_event_comes_again(
        app, stack, gateway, user, other_user):
    """The notifier delivered an assignment, its announcement failed (broker down) and the notifier died holding
    it; the task was deleted before the event came again, whose handling then notified no one: the person was
    told by mail, yet their inbox never showed it (PostgreSQL soak, seed 161099). The handling of a deleted
    task's event now announces again what was delivered, and delivers nothing new."""
    from datetime import datetime, timezone

    from tests.integration.boards import board_task, create_board, invite, user_id_of
    from tests.integration.test_events_and_inbox import _post
    from webapp import events
    from webapp.tasks import store
    board_id = create_board(user, "Told, then deleted")
    assert invite(user, board_id, other_user, "editor").status_code == 302
    member = user_id_of(other_user)
    task_id = board_task(user, board_id, title="Yours, briefly", assignee=member)
    task = store.task_of(gateway.get(store.task_key(task_id)))
    told, never = (events.task_event("task.updated", task, datetime.now(timezone.utc), version=task.version,
                                     changes=["assignee"]) for _ in range(2))
    note = {"notification_id": f"{told['event_id']}-assigned", "user_id": member, "task_id": task_id,
            "kind": "task.assigned", "message": "Someone assigned “Yours, briefly” to you."}
    no_broker = notifier_app_on(stack, PUBSUB="no-such-pubsub")  # delivered, its announcement only held
    assert notify_in_process(no_broker, stack, note)[0] == 503
    assert len(deliveries(stack, member, note["notification_id"])) == 1
    assert user.action(task_id, "delete").status_code == 302
    for event in (never, told):  # both come again after the deletion
        assert _post(stack.url() + "/events/task-events", {"id": event["event_id"], "data": event},
                     stack.app_token)[0] == 200
    eventually(lambda: note["notification_id"] in inbox_ids(gateway, member), timeout=60)
    assert len(deliveries(stack, member, note["notification_id"])) == 1
    assert deliveries(stack, member, f"{never['event_id']}-assigned") == []  # nothing new for a deleted task
    assert f"{never['event_id']}-assigned" not in inbox_ids(gateway, member)


def test_a_retry_naming_another_recipient_announces_the_notification_as_it_was_delivered(stack, gateway):
    """The caller derives the recipient from the task as it is when the event is handled again (the assignee
    may have changed): the retry must not put the first recipient's delivered notification in someone else's
    inbox."""
    no_broker = notifier_app_on(stack, PUBSUB="no-such-pubsub")
    note = a_notification()
    assert notify_in_process(no_broker, stack, note)[0] == 503  # delivered to its recipient, not announced
    someone_else = f"u{uuid.uuid4().hex[:8]}"
    assert notify(stack, {**note, "user_id": someone_else})[1]["status"] == "duplicate"
    eventually(lambda: note["notification_id"] in inbox_ids(gateway, note["user_id"]))
    assert inbox_ids(gateway, someone_else) == []
    assert deliveries(stack, someone_else, note["notification_id"]) == []


def test_creating_a_key_that_exists_is_a_conflict(gateway):
    """The first-write primitive the claim relies on, against the real daprd and Redis."""
    from webapp.dapr_gateway import Conflict
    key = f"create-probe:{uuid.uuid4().hex}"
    gateway.create(key, {"n": 1}, ttl_seconds=60)
    with pytest.raises(Conflict):
        gateway.create(key, {"n": 2}, ttl_seconds=60)
    item = gateway.get(key)
    assert item.value == {"n": 1}
    gateway.save(key, {"n": 3}, etag=item.etag, ttl_seconds=60)  # the holder moves it on with its ETag
    assert gateway.get(key).value == {"n": 3}
    with ThreadPoolExecutor(max_workers=10) as pool:
        def race(i):
            try:
                gateway.create(f"{key}-race", {"n": i}, ttl_seconds=60)
                return "won"
            except Conflict:
                return "lost"
        assert Counter(pool.map(race, range(10))) == Counter({"won": 1, "lost": 9})


def test_an_overdue_alert_is_sent_once_even_after_the_notifiers_record_expired(app, stack, owner, notifier_state,
                                                                               gateway, monkeypatch):
    from webapp.keys import notification_done_key, notification_key
    due = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=3)
    task = service.create(owner, TaskFields("Late invoice", due_at=due))
    alert_id = f"overdue-{task.id}-{due:%Y%m%dT%H%M}"
    eventually(lambda: len(deliveries(stack, owner, alert_id)) == 1, timeout=30)  # its job fired
    eventually(lambda: overdue.alerted(store.load(owner, task.id)), timeout=30)  # and stored its marker after
    notifier_state.delete(notification_done_key(alert_id))  # its 30-day TTL ran out (the marker's first)
    notifier_state.delete(notification_key(alert_id))
    assert overdue.fire(overdue.job_data(owner, task)) == "alerted before"  # the job fired again
    assert len(deliveries(stack, owner, alert_id)) == 1
    # A new due time is a new alert, once.
    later_due = due + timedelta(hours=1)
    current = store.load(owner, task.id)
    moved = service.update(owner, task.id, current.version, TaskFields("Late invoice", due_at=later_due))
    later_id = f"overdue-{task.id}-{later_due:%Y%m%dT%H%M}"
    eventually(lambda: len(deliveries(stack, owner, later_id)) == 1, timeout=30)
    for _ in range(2):
        overdue.fire(overdue.job_data(owner, moved))
    assert len(deliveries(stack, owner, later_id)) == 1
    assert len(deliveries(stack, owner, alert_id)) == 1
    # The marker has no TTL, and is cleared with the task's tombstone (once its deletion can no longer be undone):
    # both are kept, expiring, as fences against a writer that read them before.
    marker = keys.overdue_marker_key(task.id)
    assert gateway.get(marker).exists and redis_ttl(stack, "taskboard", marker) == -1
    service.delete(owner, task.id, store.load(owner, task.id).version)
    event_ids = gateway.get(store.task_key(task.id)).value["outbox"]
    eventually(lambda: not any(gateway.get(store.outbox_key(i)).exists for i in event_ids))
    assert redis_ttl(stack, "taskboard", marker) == -1
    monkeypatch.setattr(store, "UNDO_SECONDS", 0)
    sweep.sweep_batch([owner])
    assert cleared(gateway, stack, marker) and cleared(gateway, stack, store.task_key(task.id))


def test_a_digest_another_attempt_is_delivering_holds_up_only_its_own_job(app, stack, user, other_user,
                                                                          notifier_state):
    from webapp import timezones
    from webapp.background import digests
    from webapp.keys import notification_key
    due = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
    alerts = {}
    for browser in (user, other_user):
        with browser.client.session_transaction() as session:
            user_id = session["profile"]["id"]
        with app.app_context():
            service.create(user_id, TaskFields("Overdue somewhere", due_at=due))
            today = timezones.to_local(datetime.now(timezone.utc), reminders.user_zone(user_id)).date()
        alerts[user_id] = f"digest-{user_id}-{today.isoformat()}"
    (busy, busy_alert), (free, free_alert) = alerts.items()
    notifier_state.create(notification_key(busy_alert), {"notification_id": busy_alert, "status": "claimed",
                                                   "claimed_at": datetime.now(timezone.utc).isoformat()})
    answers = {}
    for user_id in (busy, free):
        body = json.dumps({"kind": "digest", "user_id": user_id}).encode()
        req = urllib.request.Request(stack.url() + f"/job/{digests.job_name(user_id)}", data=body, method="POST",
                                     headers={"dapr-api-token": stack.app_token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                answers[user_id] = resp.status
        except urllib.error.HTTPError as err:
            answers[user_id] = err.code
    assert answers == {busy: 200, free: 200}  # the busy one's digest job fires again soon (retry_of)
    assert len(deliveries(stack, free, free_alert)) == 1 and deliveries(stack, busy, busy_alert) == []
