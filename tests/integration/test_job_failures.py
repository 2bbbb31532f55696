"""Jobs outlast a notification-service restart: every job is retried for longer than a rollout, a digest whose
send fails still leaves the user's digest chain going, and the sweep re-creates a chain that ended."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from tests.conftest import eventually
from tests.integration.test_delivery_once import deliveries, notifier_app, notifier_state  # noqa: F401  (fixtures)
from webapp import keys, timezones
from webapp.background import digests, horizon, overdue, reminders, sweep
from webapp.keys import notification_key
from webapp.tasks import service
from webapp.tasks.model import TaskFields

OUTLASTS_A_ROLLOUT = timedelta(minutes=10)


def _fire(stack, name: str, data: dict) -> tuple[int, dict]:
    """The scheduler's call of a fired job, through the app's port with the app token."""
    req = urllib.request.Request(stack.url() + f"/job/{name}", data=json.dumps(data).encode(), method="POST",
                                 headers={"dapr-api-token": stack.app_token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _due(gateway, name: str) -> datetime:
    return datetime.fromisoformat(gateway.get_job(name)["due_time"].replace("Z", "+00:00"))


def test_every_kind_of_job_is_retried_for_longer_than_a_rollout(app, gateway, owner):
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    task = service.create(owner, TaskFields("Retried", due_at=soon, remind_at=soon - timedelta(hours=1)))
    with app.app_context():
        horizon.ensure()
        names = [digests.job_name(owner), reminders.job_name(task.id), overdue.job_name(task.id), horizon.JOB_NAME]
        eventually(lambda: all(gateway.get_job(n) for n in names), timeout=30)
        for name in names:
            retry = gateway.get_job(name)["retry"]
            assert retry is not None, f"{name} has the scheduler's default: 3 retries 1 s apart"
            assert timedelta(seconds=retry["interval_seconds"] * retry["max_retries"]) >= OUTLASTS_A_ROLLOUT, name


def test_a_digest_whose_send_fails_keeps_the_chain_and_is_sent_when_fired_again(app, gateway, stack, owner,
                                                                             notifier_state):  # noqa: F811
    service.create(owner, TaskFields("Overdue report", due_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    name = digests.job_name(owner)
    fired_at = datetime.now(timezone.utc)
    today = timezones.to_local(fired_at, "UTC").date()  # the user's zone is UTC
    digest_id = f"digest-{owner}-{today.isoformat()}"
    # notification-service is busy with this digest (another attempt's live claim): the send answers "in progress"
    notifier_state.create(notification_key(digest_id), {"notification_id": digest_id, "status": "claimed",
                                                  "claimed_at": fired_at.isoformat()})
    gateway.delete_job(name)
    status, answer = _fire(stack, name, {"kind": "digest", "user_id": owner, "at": fired_at.isoformat()})
    assert (status, answer["status"]) == (200, "retry scheduled")
    again = _due(gateway, name)  # the same day's digest, fired again soon
    assert timedelta(0) < again - fired_at <= timedelta(seconds=60)
    assert deliveries(stack, owner, digest_id) == []
    notifier_state.delete(notification_key(digest_id))  # notification-service is free again
    status, answer = _fire(stack, name, {"kind": "digest", "user_id": owner, "at": again.isoformat(),
                                         "retry_of": fired_at.isoformat()})
    assert (status, answer["status"]) == (200, "sent")
    assert len(deliveries(stack, owner, digest_id)) == 1
    assert _due(gateway, name) == digests.next_firing(fired_at, digests.parse_time(None), "UTC")  # the next day's


def test_the_sweep_re_creates_a_digest_chain_that_ended(app, gateway, owner):
    name = digests.job_name(owner)
    expected = _due(gateway, name)
    with app.app_context():
        gateway.delete_job(name)  # its firing failed through every retry, or the scheduler lost it
        gateway.save(keys.digest_next_key(owner), {"due": (expected - timedelta(days=1, hours=2)).isoformat()})
        assert sweep.sweep_batch([owner])["digests"] == 1
        assert _due(gateway, name) == expected
        assert sweep.sweep_batch([owner])["digests"] == 0  # going again: nothing to do
