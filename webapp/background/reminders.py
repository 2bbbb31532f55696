"""Task reminders on the Dapr Jobs API: one job per task, named ``reminder-<task id>``.

Jobs follow the task's *current* state (re-read on every event), so events
arriving out of order or twice still leave exactly the right job. When a job
fires, the task is read again and stale or completed reminders are ignored.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone


from .. import timezones
from ..keys import user_key
from ..boards import followers
from ..sidecar import gateway
from ..tasks.model import Task
from . import task_jobs

log = logging.getLogger(__name__)
KIND = "reminder"
FIELDS = ("remind_at",)  # the task fields its job follows
PREFIX = "reminder-"
GRACE = timedelta(seconds=5)  # a reminder set for "now" still fires


def job_name(task_id: str) -> str:
    """``reminder-<task id>``: at most one reminder job per task."""
    return f"{PREFIX}{task_id}"


def wanted(task: Task | None, now: datetime) -> bool:
    """Whether the task should have a reminder job."""
    return bool(task and not task.is_completed and task.remind_at and task.remind_at > now - GRACE)


def user_zone(user_id: str, fallback: str = timezones.DEFAULT_TZ) -> str:
    """The user's current time zone (from ``user:<id>``), ``fallback`` if the account is gone."""
    record = gateway().get(user_key(user_id))
    return (record.value or {}).get("timezone") or fallback


def local_time(value: datetime, tz_name: str) -> str:
    """A time as a person reads it in their zone, e.g. ``2031-06-01 21:00 Asia/Tokyo``."""
    return f"{timezones.to_local(value, tz_name):%Y-%m-%d %H:%M} {timezones.zone(tz_name).key}"


def sync_with(user_id: str, task_id: str, task: Task | None, created: bool = False) -> str:
    """Create, move or delete the task's job to match the task as just read (None: gone).

    ``created``: the event is the task's creation. A job exists only if an
    earlier sync scheduled one, and every event after the creation syncs
    again, so there is nothing to delete yet (one scheduler call saved per task).
    """
    if not wanted(task, datetime.now(timezone.utc)):
        return task_jobs.place(job_name(task_id), None, {}, created)
    return task_jobs.place(job_name(task.id), task.remind_at, {
        "kind": "reminder", "task_id": task.id, "user_id": user_id, "board_id": task.board_id,
        "remind_at": task.remind_at.isoformat()})


def fire(data: dict) -> str:
    """A reminder job fired: notify unless the task is gone, done, or its reminder moved."""
    task = task_jobs.current_task(data, "remind_at")
    if task is None:
        return "stale"
    # The zone the user has now, not the one the task was entered in.
    when = f" (due {local_time(task.due_at, user_zone(task.owner, task.timezone))})" if task.due_at else ""
    followers.notify_followers(task, f"reminder-{task.id}-{task.remind_at:%Y%m%dT%H%M%S}", "task.reminder",
                               f"Reminder: “{task.title}”{when}.")  # its creator, assignee and watchers
    return "notified"
