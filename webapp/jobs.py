"""Every kind of Dapr job the web app keeps, reconciled from state in one walk.

Per task: ``reminder-<task id>`` (webapp/reminders.py) and ``overdue-<task id>``
(webapp/overdue.py); per user: ``digest-<user id>`` (webapp/digests.py); and the
daily ``jobs-horizon`` (webapp/horizon.py). Jobs stored at any time: one
reminder per open task with a reminder within the next 7 days, one overdue job
per open task due within 7 days (or past due and not yet alerted), one digest
per user; later ones wait in day buckets for the horizon job.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from . import digests, horizon, overdue, reminders, sweep
from .boards.store import memberships_key
from .dapr_gateway import NotFound
from .sidecar import gateway
from .tasks import store

SYNC = {"reminder": reminders.sync_with, "overdue": overdue.sync_with}  # per-task job kinds


def resync_deferred(entry: dict) -> None:
    """Sync a deferred job (a horizon bucket entry) from its task as it is now."""
    try:
        task = store.load(entry.get("board_id") or entry["user_id"], entry["task_id"])
    except NotFound:
        task = None
    SYNC[entry["kind"]](entry["user_id"], entry["task_id"], task)


def on_horizon(data: dict) -> str:
    """The daily ``jobs-horizon`` job fired: bring the jobs now within the horizon into the scheduler."""
    return horizon.fire(data, resync_deferred)


def reconcile(user_ids: Iterable[str]) -> dict[str, int]:
    """Re-create missing reminder, overdue and digest jobs from state (after losing the scheduler's data)."""
    gw = gateway()
    now = datetime.now(timezone.utc)
    counts = {"checked": 0, "created": 0, "horizon_created": int(horizon.ensure())}
    shared_done: set[str] = set()  # a shared board with several owners is reconciled once
    for user_id in user_ids:
        counts["checked"] += 1
        if gw.get_job(digests.job_name(user_id)) is None and digests.schedule(user_id, now):
            counts["created"] += 1
        for board_id in sweep.owned_boards(user_id, gw.get(memberships_key(user_id)).value):
            if board_id not in shared_done:
                reconcile_board(board_id, now, counts)
            if board_id != user_id:
                shared_done.add(board_id)
    return counts


def reconcile_board(board_id: str, now: datetime, counts: dict[str, int]) -> None:
    """Re-create the missing reminder and overdue jobs of one board's tasks."""
    gw = gateway()
    for task in store.load_all(board_id):
        kinds = {reminders.job_name(task.id): reminders.sync_with} if reminders.wanted(task, now) else {}
        if overdue.wanted(task):
            kinds[overdue.job_name(task.id)] = overdue.sync_with
        for name, resync in kinds.items():
            counts["checked"] += 1
            if gw.get_job(name) is None and resync(task.owner, task.id, task) == "scheduled":
                counts["created"] += 1
