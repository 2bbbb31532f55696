"""Re-create the jobs the scheduler should hold from state, in one walk (after losing the scheduler's data).

Jobs stored at any time: one job of each per-task kind (the registry's ``TASK_JOBS``: reminders, overdue alerts)
per open task whose time is within the horizon's window, one digest per user, and the daily ``jobs-horizon``;
later per-task jobs wait in day buckets for the horizon job (horizon.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import ModuleType
from typing import Iterable

from ..dapr_gateway import NotFound
from ..keys import memberships_key
from ..sidecar import gateway
from ..tasks import store
from . import digests, horizon
from .sweep import owned_boards


def resync_deferred(entry: dict, task_jobs: dict[str, ModuleType]) -> None:
    """Sync a deferred job (a horizon bucket entry) from its task as it is now (``GatewayError``)."""
    try:
        task = store.load(entry.get("board_id") or entry["user_id"], entry["task_id"])
    except NotFound:
        task = None
    task_jobs[entry["kind"]].sync_with(entry["user_id"], entry["task_id"], task)


def reconcile(user_ids: Iterable[str], task_jobs: Iterable[ModuleType]) -> dict[str, int]:
    """Re-create missing per-task, digest and horizon jobs from state (``GatewayError``)."""
    gw = gateway()
    task_jobs = tuple(task_jobs)
    now = datetime.now(timezone.utc)
    counts = {"checked": 0, "created": 0, "horizon_created": int(horizon.ensure())}
    shared_done: set[str] = set()  # a shared board with several owners is reconciled once
    for user_id in user_ids:
        counts["checked"] += 1
        if gw.get_job(digests.job_name(user_id)) is None and digests.schedule(user_id, now):
            counts["created"] += 1
        for board_id in owned_boards(user_id, gw.get(memberships_key(user_id)).value):
            if board_id not in shared_done:
                reconcile_board(board_id, now, counts, task_jobs)
            if board_id != user_id:
                shared_done.add(board_id)
    return counts


def reconcile_board(board_id: str, now: datetime, counts: dict[str, int], task_jobs: Iterable[ModuleType]) -> None:
    """Re-create the missing per-task jobs of one board's tasks (``GatewayError``)."""
    gw = gateway()
    for task in store.load_all(board_id):
        for kind in task_jobs:
            if not kind.wanted(task, now):
                continue
            counts["checked"] += 1
            if gw.get_job(kind.job_name(task.id)) is None and kind.sync_with(task.owner, task.id, task) == "scheduled":
                counts["created"] += 1
