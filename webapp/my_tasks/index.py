"""Where "My tasks" live: one derived index per person, kept like a board's index rows.

    my-tasks:<user id>  {"rows": {<task id>: [board id, row, extra]}, "more": bool} (``entries.py``): the
                        open tasks that are the person's (assigned to them, or created by them and
                        assigned to nobody) on every board, plus tombstones of those that stopped being
                        theirs; at most ``MY_TASKS_MAX_BYTES`` (the soonest due are kept, ``more`` says
                        some were left out).

**Derived, never the commit point.** A task change writes its document first (``tasks/store.py``); once that
write passed, ``follow`` puts the task's entry into its holder's index and a tombstone into its former
holder's — each one ETag-guarded single-key write, retried (``retry_on_conflict``), an entry replacing only an
older one, so late or repeated writes are harmless. If one keeps losing, the caller marks the board for the
relay, and ``reconcile`` (the relay's and the sweep's) rebuilds the entries of the board's members from the
documents at equal revision. Someone removed from a board has that board's entries dropped (``forget_board``),
and the pages only show entries of boards the person is on now, so a failed drop shows nothing.
"""

from __future__ import annotations

import logging
from typing import Iterable

from flask import current_app

from ..dapr_gateway import Conflict, GatewayError, Item
from ..keys import my_tasks_key
from ..sidecar import gateway, retry_on_conflict
from ..tasks.model import Task
from ..tasks.rows import is_row
from . import entries

log = logging.getLogger(__name__)
MAX_BYTES = 1024 * 1024  # the default of MY_TASKS_MAX_BYTES (webapp/config.py)


def _limit() -> int:
    return int(current_app.config["MY_TASKS_MAX_BYTES"])


def _put(user_id: str, change, first: Item | None = None) -> bool:
    """Apply ``change(value as read) -> value | None`` to the person's index: one guarded write, retried; False
    (logged, never raised) when it kept losing or the sidecar failed: ``reconcile`` repairs it."""
    gw = gateway()
    key = my_tasks_key(user_id)
    pending = [first] if first is not None else []

    def attempt() -> None:
        item = pending.pop() if pending else gw.get(key)
        document = change(item.value)
        if document is not None:
            gw.save_versioned(key, entries.bounded(document, _limit()), item.etag)

    try:
        retry_on_conflict(attempt, "my tasks")
        return True
    except Conflict:
        log.warning("my tasks of %s kept changing; the relay or the sweep repairs them", user_id)
    except GatewayError as err:
        log.warning("my tasks of %s not updated (the relay or the sweep repairs them): %s", user_id, err)
    return False


def follow(before: Task | None, after: Task, deleted: bool = False, reads: dict[str, Item] | None = None) -> bool:
    """After a committed change: the task's entry in its holder's index, a tombstone in its former holder's
    (``reads``: items the request already read, by key). False when a write kept failing."""
    done = True
    for user_id, changes in entries.changes_for(before, after, deleted).items():
        done &= _put(user_id, lambda value, c=changes: entries.merged(value, c), (reads or {}).get(my_tasks_key(user_id)))
    return done


def holder_of(task: Task) -> str | None:
    """Whose "My tasks" the task is in (None: nobody's)."""
    return entries.holder(task)


def forget_board(user_id: str, board_id: str) -> bool:
    """Drop every entry of ``board_id`` from the person's index (they are no longer on it)."""
    def drop(value: dict | None) -> dict | None:
        gone = {task_id: None for task_id, entry in ((value or {}).get("rows") or {}).items() if entry[0] == board_id}
        return entries.merged(value, gone) if gone else None
    return _put(user_id, drop)


def _rank(entry) -> float:
    row = entry[1] if isinstance(entry, list) and len(entry) == 3 else None
    if is_row(row):
        return row[-1]
    revision = row.get("revision") if isinstance(row, dict) else None
    return revision if isinstance(revision, int) else float("inf")


def board_changes(board_id: str, listed: Iterable[str], tasks: dict[str, tuple[Task, bool]],
                  members: Iterable[str], current: dict[str, dict | None]) -> dict[str, dict[str, list | None]]:
    """What ``reconcile`` writes for one board: {member: {task id: entry or None}}, from the board's documents
    as read (``tasks``: {task id: (task, deleted)}, the ids its index ``listed``) and the members' indexes as
    read (``current``).

    Each member gets the entries of the board's open tasks that are theirs (replacing a differing entry of the
    same revision); an entry of the board for a listed task that is not theirs is dropped, unless it is newer
    than the document read (a change made since), and so is a tombstone of a task the board no longer lists."""
    listed = set(listed)
    changes: dict[str, dict[str, list | None]] = {}
    for member in members:
        wanted: dict[str, list | None] = {task_id: entries.live_entry(task) for task_id, (task, deleted)
                                          in tasks.items() if entries.holder(task, deleted) == member}
        for task_id, entry in ((current.get(member) or {}).get("rows") or {}).items():
            if entry[0] != board_id or task_id in wanted:
                continue
            if task_id not in listed:  # gone from the board (purged), or created since the index was read
                if not is_row(entry[1]):
                    wanted[task_id] = None  # a tombstone of a task no longer listed protects nothing
                continue
            task = tasks.get(task_id)
            if task is None or _rank(entry) <= task[0].revision:
                wanted[task_id] = None
        changes[member] = wanted
    return changes


def outside(value: dict | None, boards: set[str]) -> dict[str, None]:
    """Drops for the entries of the index (as read) on boards the person is no longer on."""
    return {task_id: None for task_id, entry in ((value or {}).get("rows") or {}).items() if entry[0] not in boards}


def write_repairs(user_id: str, changes: dict[str, list | None], first: Item | None = None) -> bool:
    """Apply entries rebuilt from the documents (``repair``: they also replace a differing entry of the same
    revision); nothing is written when the index already says so."""
    if not changes:
        return True
    if first is not None and entries.merged(first.value, changes, repair=True) is None:
        return True
    return _put(user_id, lambda value: entries.merged(value, changes, repair=True), first)
