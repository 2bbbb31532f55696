"""What every per-task job (reminders, overdue alerts) does alike: follow the task, re-check it when fired."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .dapr_gateway import NotFound
from .sidecar import gateway
from .tasks import store
from .tasks.model import Task


def place(job_name: str, due: datetime | None, data: dict, created: bool = False) -> str:
    """Schedule job ``job_name`` at ``due`` (a second from now at the earliest), or delete it (``due`` None).

    ``created``: the event is the task's creation, so no earlier sync can have
    scheduled a job: nothing to delete (one scheduler call saved per task).
    """
    if due is None:
        if created:
            return "none"
        gateway().delete_job(job_name)
        return "deleted"
    gateway().schedule_job(job_name, max(due, datetime.now(timezone.utc) + timedelta(seconds=1)), data)
    return "scheduled"


def current_task(data: dict, field: str) -> Task | None:
    """The task a job fired for, if it is still open and its ``field`` time is the one the job was set for."""
    try:
        task = store.load(data["user_id"], data["task_id"])
    except NotFound:
        return None
    value = getattr(task, field)
    if task.is_completed or not value or value.isoformat() != data.get(field):
        return None
    return task
