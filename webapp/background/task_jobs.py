"""What every per-task job (reminders, overdue alerts) does alike: follow the task, re-check it when fired."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from ..dapr_gateway import NotFound
from ..sidecar import gateway
from ..tasks import store
from ..tasks.model import Task
from . import horizon

log = logging.getLogger(__name__)


def place(job_name: str, due: datetime | None, data: dict, created: bool = False) -> str:
    """Schedule job ``job_name`` at ``due`` (a second from now at the earliest), or delete it (``due`` None).

    A job due beyond the horizon (horizon.py) is noted in state instead, and
    any job set earlier for a nearer time deleted. ``created``: the event is the
    task's creation, so no earlier sync can have scheduled a job: nothing to
    delete (one scheduler call saved per task).
    """
    now = datetime.now(timezone.utc)
    if due is not None and horizon.beyond(due, now) and _deferred(job_name, due, data):
        if not created:
            gateway().delete_job(job_name)  # one set earlier for a nearer time
        return "deferred"
    if due is None:
        if created:
            return "none"
        gateway().delete_job(job_name)
        return "deleted"
    gateway().schedule_job(job_name, max(due, now + timedelta(seconds=1)), data)
    return "scheduled"


def _deferred(job_name: str, due: datetime, data: dict) -> bool:
    """Note the job beyond the horizon; False (schedule it now) if its bucket is full."""
    try:
        horizon.defer(job_name, due, data)
    except horizon.BucketFull as full:
        log.warning("%s full: %s scheduled beyond the horizon", full, job_name)
        return False
    return True


def current_task(data: dict, field: str) -> Task | None:
    """The task a job fired for, if it is still open and its ``field`` time is the one the job was set for."""
    try:
        task = store.load(data.get("board_id") or data["user_id"], data["task_id"])
    except NotFound:
        return None
    value = getattr(task, field)
    if task.is_completed or not value or value.isoformat() != data.get(field):
        return None
    return task
