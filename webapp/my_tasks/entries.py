""""My tasks" as values: whose a task is, the entries of a person's ``my-tasks`` index, and the page's groups.
No I/O.

A task is *someone's* while it is open: its assignee's, or, with nobody assigned, its creator's. Each person's
index (``my-tasks:<user>``, ``index.py``) is ``{"rows": {<task id>: entry}, "more": bool}`` with an *entry*
``[board id, row, extra]``: the board's list row of the task (``tasks.rows``) or, once it is no longer theirs
(reassigned, completed, deleted), a tombstone row at the revision that made it so. Entries replace each other
exactly as board rows do (``rows.newer``: a later revision wins; ``repair`` also replaces a differing entry of
the same revision), so a late or repeated write never brings back what a later change took away. ``extra``
holds what the calendar feed needs beyond the row: the task's zone, its series and the series' anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .. import timezones
from ..dapr_gateway.values import encoded_size
from ..tasks.model import Task
from ..tasks.rows import Summary, is_row, is_tombstone, newer, tombstone_row

Entry = list  # [board id, row, extra]
GROUPS = ("Overdue", "Today", "Upcoming", "No date")


def holder(task: Task | None, deleted: bool = False) -> str | None:
    """Whose the task is: its assignee, else its creator, while it is open; None once completed or deleted."""
    if task is None or deleted or task.is_completed:
        return None
    return task.assignee or task.owner


def live_entry(task: Task) -> Entry:
    """The entry of an open task in its holder's index."""
    extra = {"z": task.timezone}
    if task.series_id and task.recurrence != "none":
        extra.update(s=task.series_id, a=task.anchor_at.isoformat() if task.anchor_at else None)
    return [task.board_id, Summary.of(task).to_row(), extra]


def gone_entry(task: Task) -> Entry:
    """The entry saying the task stopped being someone's at its revision."""
    return [task.board_id, tombstone_row(task.revision), {}]


def changes_for(before: Task | None, after: Task, deleted: bool = False) -> dict[str, dict[str, Entry]]:
    """What a committed change (``before`` as read, None for a new task; ``after`` as stored) writes into whose
    index: {user id: {task id: entry}}. The new holder gets the live entry, a former holder a tombstone."""
    changes: dict[str, dict[str, Entry]] = {}
    now_holder = holder(after, deleted)
    if now_holder:
        changes[now_holder] = {after.id: live_entry(after)}
    former = holder(before)
    if former and former != now_holder:
        changes[former] = {after.id: gone_entry(after)}
    return changes


def _row(entry) -> list | dict | None:
    return entry[1] if isinstance(entry, list) and len(entry) == 3 else None


def merged(value: dict | None, changes: dict[str, Entry | None], repair: bool = False) -> dict | None:
    """``value`` (an index as read) with ``changes`` applied (None drops the task's entry), or None if nothing
    changes. An entry replaces only an older one (``repair``: built from the documents, so it also replaces a
    differing entry of its revision)."""
    rows = dict((value or {}).get("rows") or {})
    changed = False
    for task_id, entry in changes.items():
        if entry is None:
            changed |= rows.pop(task_id, None) is not None
        elif newer(entry[1], _row(rows.get(task_id)), repair) or (
                repair and rows.get(task_id) != entry and _row(rows.get(task_id)) == entry[1]):
            rows[task_id] = entry
            changed = True
    return {**(value or {}), "rows": rows} if changed else None


def _eviction_order(item: tuple[str, Entry]) -> tuple:
    """Which entries go first when an index must shrink: tombstones, then open tasks without a due date, then
    the open tasks due latest."""
    row = _row(item[1])
    if not is_row(row):
        return (0, 0.0)
    due = Summary.from_row(item[0], row).due_at
    return (1, 0.0) if due is None else (2, -due.timestamp())


def bounded(value: dict, limit_bytes: int) -> dict:
    """``value`` within ``limit_bytes`` stored, dropping entries in ``_eviction_order`` (and setting ``more``
    once an open task is dropped, so the page says not everything is shown): the soonest due are kept."""
    if encoded_size(value) <= limit_bytes:
        return value
    rows = dict(value.get("rows") or {})
    size = encoded_size(value)
    more = bool(value.get("more"))
    for task_id, entry in sorted(rows.items(), key=_eviction_order):
        if size <= limit_bytes:
            break
        size -= encoded_size(task_id) + encoded_size(entry) + 2
        more |= is_row(_row(entry))
        rows.pop(task_id)
    return {**value, "rows": rows, "more": more}


def boards_in(value: dict | None) -> list[str]:
    """The boards the index's open tasks are on."""
    return list(dict.fromkeys(e[0] for e in ((value or {}).get("rows") or {}).values() if is_row(_row(e))))


@dataclass(frozen=True)
class MyTask:
    """One of my tasks as the page and the feed show it: its row, its board, its zone and series."""

    task: Summary
    board_id: str
    timezone: str
    series_id: str | None
    anchor_at: datetime | None


def open_tasks(value: dict | None, boards: set[str]) -> list[MyTask]:
    """The open tasks of the index (as read) on ``boards`` (those the person is on now)."""
    found = []
    for task_id, entry in ((value or {}).get("rows") or {}).items():
        row = _row(entry)
        if entry[0] not in boards or not is_row(row) or is_tombstone(row):
            continue
        try:
            summary = Summary.from_row(task_id, row)
        except (ValueError, TypeError, IndexError):
            continue  # an entry of another layout: the sweep rebuilds it
        if summary.is_completed:
            continue
        extra = entry[2] if isinstance(entry[2], dict) else {}
        anchor = extra.get("a")
        found.append(MyTask(summary, entry[0], extra.get("z") or "UTC", extra.get("s"),
                            datetime.fromisoformat(anchor) if anchor else None))
    return found


def group_of(task: Summary, now: datetime, today: date, tz_name: str) -> str:
    """Overdue / Today / Upcoming / No date, in the zone ``tz_name`` (``today``: its date now)."""
    if task.due_at is None:
        return "No date"
    if task.due_at < now:
        return "Overdue"
    return "Today" if timezones.to_local(task.due_at, tz_name).date() == today else "Upcoming"


def grouped(tasks: list[MyTask], now: datetime, tz_name: str) -> dict[str, list[MyTask]]:
    """The tasks in ``GROUPS`` order, each group soonest due first (no date: recently updated first)."""
    today = timezones.to_local(now, tz_name).date()
    groups: dict[str, list[MyTask]] = {name: [] for name in GROUPS}
    for mine in tasks:
        groups[group_of(mine.task, now, today, tz_name)].append(mine)
    for name, items in groups.items():
        if name == "No date":
            items.sort(key=lambda m: m.task.updated_at, reverse=True)
        else:
            items.sort(key=lambda m: (m.task.due_at, m.task.title))
    return groups
