"""Every job fires once across two replicas: each daprd of the app connects to the shared scheduler,
which delivers a job to one of them (counted in both apps' request logs and in the deliveries)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.conftest import eventually
from tests.scale.conftest import WebUser
from webapp.background import digests, overdue, reminders
from webapp.tasks import service
from webapp.tasks.model import TaskFields


def _firings(replicas, name: str) -> int:
    """How many times any taskboard replica answered the scheduler's call of /job/<name>."""
    total = 0
    for instance in replicas.ports.replicas("taskboard"):
        for line in (replicas.logs_dir / f"{instance}.log").read_text(errors="replace").splitlines():
            total += f"/job/{name}" in line and "POST" in line and "taskboard.request" in line
    return total


def _delivered(replicas, user_id: str, notification_id: str) -> int:
    return len(list(Path(replicas.run_dir, "deliveries").glob(f"{user_id}-{notification_id}-*.json")))


def test_reminder_overdue_and_digest_jobs_each_fire_once_across_replicas(replicas, gateway):
    name = WebUser(replicas.url()).register()
    owner = gateway.get(f"username:{name.lower()}").value
    owner = owner["user_id"]
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=6)
    task = service.create(owner, TaskFields("Fires once", due_at=soon + timedelta(seconds=2), remind_at=soon))
    jobs = [reminders.job_name(task.id), overdue.job_name(task.id)]
    eventually(lambda: all(gateway.get_job(j) for j in jobs), timeout=30)
    gateway.schedule_job(digests.job_name(owner), soon, {"kind": "digest", "user_id": owner, "at": soon.isoformat()})
    ids = [f"reminder-{task.id}-{task.remind_at:%Y%m%dT%H%M%S}", overdue.notification_id(task),
           f"digest-{owner}-{soon:%Y-%m-%d}"]
    eventually(lambda: all(_delivered(replicas, owner, i) for i in ids), timeout=60, interval=1)
    time.sleep(5)  # room for a second firing on the other replica, if one were coming
    fired = {job: _firings(replicas, job) for job in [*jobs, digests.job_name(owner)]}
    print(f"\njob firings across both replicas: {fired}")
    assert fired == {job: 1 for job in fired}
    assert [_delivered(replicas, owner, i) for i in ids] == [1, 1, 1]
    next_digest = gateway.get_job(digests.job_name(owner))  # the firing scheduled tomorrow's
    assert next_digest and next_digest["due_time"][11:16] == "08:00"
    kinds = [json.loads(p.read_text())["kind"] for p in Path(replicas.run_dir, "deliveries").glob(f"{owner}-*.json")]
    assert sorted(kinds) == ["digest", "task.overdue", "task.reminder"]
