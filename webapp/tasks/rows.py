"""The list rows kept in a user's index (``tasks-of:<user>``): what the list filters and sorts on. No I/O.

The index document is ``{"ids": [...], "rows": {<task id>: row}}``. ``merged``
applies row changes to it; ``webapp/tasks/store.py`` reads and writes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .model import Task


class Summary(NamedTuple):
    """What the list needs to filter, sort and page a task: a *row* kept in its owner's index.

    The list page reads the index (rows of every task), picks a page, and reads
    only that page's tasks. Searching reads the tasks themselves (descriptions
    are not in the rows). A row is a JSON array in ``ROW_FIELDS`` order (a
    user with 1,000 tasks has 1,000 rows to decode on every list page: arrays
    decode about twice as fast as objects); a tombstone's row is ``TOMBSTONE_ROW``.
    """

    id: str
    title: str
    status: str
    priority: str
    tags: tuple[str, ...]
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    revision: int
    description: str = ""  # never searched through rows; here so ``select`` takes both

    @classmethod
    def of(cls, task: "Task") -> "Summary":
        return cls(task.id, task.title, task.status, task.priority, task.tags, task.due_at,
                   task.created_at, task.updated_at, task.revision)

    def to_row(self) -> list:
        return [self.title, self.status, self.priority, list(self.tags),
                self.due_at.isoformat() if self.due_at else None,
                self.created_at.isoformat(), self.updated_at.isoformat(), self.revision]

    @classmethod
    def from_row(cls, task_id: str, row: list) -> "Summary":
        """``ValueError`` if ``row`` is not a row (e.g. a tombstone's, or an older layout)."""
        if not is_row(row):
            raise ValueError(f"not a list row: {row!r}")
        title, status, priority, tags, due, created, updated, revision = row
        return cls(task_id, title, status, priority, tuple(tags), _parse(due) if due else None,
                   _parse(created), _parse(updated), revision)


ROW_FIELDS = ("title", "status", "priority", "tags", "due_at", "created_at", "updated_at", "revision")
TOMBSTONE_ROW = {"deleted": True}
_parse = datetime.fromisoformat


def is_row(row) -> bool:
    """A live task's row (not a tombstone's)."""
    return isinstance(row, list) and len(row) == len(ROW_FIELDS)


def row_revision(row) -> int:
    return row[-1] if is_row(row) else 0


def known(row) -> bool:
    """A row of the current layout: a live task's or a tombstone's."""
    return is_row(row) or row == TOMBSTONE_ROW


def newer(row: list | dict, current: list | dict | None) -> bool:
    """Whether ``row`` replaces ``current``: a tombstone always does, a live row if it is of a later revision."""
    if not known(current):
        return True  # none yet, or another layout
    if row == TOMBSTONE_ROW:
        return current != row
    return is_row(current) and row_revision(row) > row_revision(current)


def merged(index: dict | None, changes: dict[str, list | dict | None]) -> dict | None:
    """``index`` with ``changes`` applied (a row per task id; ``None`` drops the id), or None if nothing changes.

    A row only replaces an older one, so changes can be applied late or twice.
    """
    ids = list((index or {}).get("ids", []))
    rows = dict((index or {}).get("rows") or {})
    changed = False
    for task_id, row in changes.items():
        if row is None:
            changed |= task_id in ids or task_id in rows
            ids = [i for i in ids if i != task_id]
            rows.pop(task_id, None)
        elif newer(row, rows.get(task_id)):
            rows[task_id] = row
            if task_id not in ids:
                ids.insert(0, task_id)
            changed = True
    return {"ids": ids, "rows": rows} if changed else None
