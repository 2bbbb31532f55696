"""Overdue alerts on the Dapr Jobs API: one job per task at its due time, named ``overdue-<task id>``.

Like reminders, the job follows the task's *current* state on every task event
and the firing reads the task again, so a moved, completed or deleted task never
alerts at an old time. One alert per task per due time, ever: the due time
alerted is remembered in ``overdue-alerted:<task id>`` (no TTL while the task
lives, expiring with its tombstone), which outlives the notifier's own 30-day
record of the notification.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from ..keys import overdue_marker_key
from ..boards import followers
from ..sidecar import gateway
from ..tasks.model import Task
from . import reminders, task_jobs

log = logging.getLogger(__name__)
KIND = "overdue"
FIELDS = ("due_at",)  # the task fields its job follows
PREFIX = "overdue-"


def job_name(task_id: str) -> str:
    """``overdue-<task id>``: at most one overdue job per task."""
    return f"{PREFIX}{task_id}"


def notification_id(task: Task) -> str:
    """The alert's id, derived from the task and its due time (the notifier de-duplicates on it)."""
    return f"overdue-{task.id}-{task.due_at:%Y%m%dT%H%M}"


def wanted(task: Task | None, now: datetime) -> bool:
    """Whether the task can still become (or is) overdue at ``now`` or later: open, with a due time."""
    return bool(task and not task.is_completed and task.due_at)


def alerted(task: Task) -> bool:
    """Whether the task's current due time has had its alert already."""
    return (gateway().get(overdue_marker_key(task.id)).value or {}).get("due_at") == task.due_at.isoformat()


def job_data(user_id: str, task: Task) -> dict:
    """What the job carries: enough to re-read the task and tell whether its due time moved."""
    return {"kind": "overdue", "task_id": task.id, "user_id": user_id, "board_id": task.board_id,
            "due_at": task.due_at.isoformat()}


def sync_with(user_id: str, task_id: str, task: Task | None, created: bool = False) -> str:
    """Create, move or delete the task's overdue job to match ``task`` as just read (None: gone).

    A due time already past gets its job a second from now, unless it was alerted
    already (one marker read, only for tasks that are overdue).
    """
    now = datetime.now(timezone.utc)
    due = None if not wanted(task, now) or (task.due_at <= now and alerted(task)) else task.due_at
    return task_jobs.place(job_name(task_id), due, job_data(user_id, task) if due else {}, created)


def fire(data: dict) -> str:
    """An overdue job fired: alert once unless the task is gone, done, or its due time moved."""
    task = task_jobs.current_task(data, "due_at")
    if task is None:
        return "stale"
    if alerted(task):
        return "alerted before"
    alert(task)
    return "notified"


def alert(task: Task) -> None:
    """Send the task's overdue alert, then remember its due time as alerted."""
    tz = reminders.user_zone(task.owner, task.timezone)  # the zone the user has now
    followers.notify_followers(task, notification_id(task), "task.overdue",  # creator, assignee, watchers
                               f"“{task.title}” is overdue (due {reminders.local_time(task.due_at, tz)}).")
    # After the send: if this write fails, the job's retry sends the same id again, which
    # the notifier still de-duplicates (its record lives 30 days).
    gateway().save(overdue_marker_key(task.id), {"due_at": task.due_at.isoformat()})
