"""Task reminders on the Dapr Jobs API: one job per task, named ``reminder-<task id>``.

Jobs follow the task's *current* state (re-read on every event), so events
arriving out of order or twice still leave exactly the right job. When a job
fires, the task is read again and stale or completed reminders are ignored.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone


from . import notifications
from .dapr_gateway import NotFound
from .tasks import store
from .tasks.model import Task
from .sidecar import gateway

log = logging.getLogger(__name__)
PREFIX = "reminder-"
GRACE = timedelta(seconds=5)  # a reminder set for "now" still fires


def job_name(task_id: str) -> str:
    return f"{PREFIX}{task_id}"


def wanted(task: Task | None, now: datetime) -> bool:
    """Whether the task should have a reminder job."""
    return bool(task and not task.is_completed and task.remind_at and task.remind_at > now - GRACE)


def sync(user_id: str, task_id: str, created: bool = False) -> str:
    """Create, move or delete the task's job to match the stored task.

    ``created``: the event is the task's creation. A job exists only if an
    earlier sync scheduled one, and every event after the creation syncs
    again, so there is nothing to delete yet (one scheduler call saved per task).
    """
    gw = gateway()
    try:
        task = store.load(user_id, task_id)
    except NotFound:
        task = None
    now = datetime.now(timezone.utc)
    if not wanted(task, now):
        if created:
            return "none"
        gw.delete_job(job_name(task_id))
        return "deleted"
    gw.schedule_job(job_name(task.id), max(task.remind_at, now + timedelta(seconds=1)), {
        "kind": "reminder", "task_id": task.id, "user_id": user_id, "remind_at": task.remind_at.isoformat()})
    return "scheduled"


def fire(data: dict) -> str:
    """A reminder job fired: notify unless the task is gone, done, or its reminder moved."""
    try:
        task = store.load(data["user_id"], data["task_id"])
    except NotFound:
        return "stale"
    if task.is_completed or not task.remind_at or task.remind_at.isoformat() != data.get("remind_at"):
        return "stale"
    when = f" (due {task.due_at:%Y-%m-%d %H:%M} UTC)" if task.due_at else ""
    notifications.send(notification_id=f"reminder-{task.id}-{task.remind_at:%Y%m%dT%H%M%S}",
                       user_id=task.owner, task_id=task.id, kind="task.reminder",
                       message=f"Reminder: “{task.title}”{when}.")
    return "notified"


def reconcile(user_ids: list[str]) -> dict[str, int]:
    """Re-create missing jobs from state (after a scheduler data loss); never duplicates."""
    gw = gateway()
    now = datetime.now(timezone.utc)
    counts = {"checked": 0, "created": 0}
    for user_id in user_ids:
        for task in store.load_all(user_id):
            if not wanted(task, now):
                continue
            counts["checked"] += 1
            if gw.get_job(job_name(task.id)) is None:
                sync(user_id, task.id)
                counts["created"] += 1
    return counts
