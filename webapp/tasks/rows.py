"""The list rows kept in a user's index (``tasks-of:<user>``): what the list filters and sorts on. No I/O.

The index document is ``{"ids": [...], "rows": {<task id>: row}}``. ``merged``
applies row changes to it; ``webapp/tasks/store.py`` reads and writes it.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime

from .fields import FIELDS, same
from .model import Task

_ROW_SPECS = tuple(spec for spec in FIELDS if spec.in_row)
ROW_FIELDS = tuple(spec.name for spec in _ROW_SPECS) + ("created_at", "updated_at", "revision")
# Every list page decodes all of a user's rows: only the columns stored differently from their value are converted.
# (position in a Summary, value when null, conversion of a stored value): what ``spec.load_row`` does, without its
# calls. A Summary is (id, *row, description): a row's column ``at`` is the Summary's ``at + 1``.
_DECODE = tuple((at + 1, spec.default, spec.kind.from_json) for at, spec in enumerate(_ROW_SPECS)
                if spec.kind.from_json is not same and not spec.kind.row_of) + \
    ((len(_ROW_SPECS) + 1, None, datetime.fromisoformat), (len(_ROW_SPECS) + 2, None, datetime.fromisoformat))
_WIDTH = len(ROW_FIELDS)


class Summary(namedtuple("_Row", ("id",) + ROW_FIELDS + ("description",), defaults=("",))):
    """What the list needs to filter, sort, page and show a task: a *row* kept in its board's index.

    The list page reads the index (rows of every task) and renders its page
    from the rows alone (``templates/tasks/list.html`` shows only row fields);
    the API reads the page's tasks. Searching reads the tasks themselves (descriptions
    are not in the rows). A row is a JSON array in ``ROW_FIELDS`` order: the
    fields declared ``in_row``, then created, updated, revision (a user with
    1,000 tasks has 1,000 rows to decode on every list page: arrays decode
    about twice as fast as objects); a tombstone's row is ``tombstone_row(revision)``.
    ``description`` is never searched through rows; it is here so ``select`` takes both.
    """

    __slots__ = ()

    @classmethod
    def of(cls, task: Task) -> "Summary":
        return cls(task.id, *(spec.row_value(getattr(task, spec.name)) for spec in _ROW_SPECS),
                   task.created_at, task.updated_at, task.revision)

    def to_row(self) -> list:
        return [spec.dump_row(getattr(self, spec.name)) for spec in _ROW_SPECS] + \
            [self.created_at.isoformat(), self.updated_at.isoformat(), self.revision]

    def __getitem__(self, key):
        """``summary["estimate"]`` is ``summary.estimate``: the list template reads a declared field by its name
        (Jinja's ``task[name]``), which would otherwise raise and catch a TypeError for every field of every row."""
        return getattr(self, key) if type(key) is str else tuple.__getitem__(self, key)

    # What the list page asks of a task, answered from the row exactly as the task answers it
    # (the version its buttons post is the revision; overdue and completed from due time and status).
    version = Task.version
    is_completed = Task.is_completed
    is_overdue = Task.is_overdue

    @classmethod
    def from_row(cls, task_id: str, row: list) -> "Summary":
        """``ValueError`` if ``row`` is not a row (e.g. a tombstone's, or an older layout)."""
        if not is_row(row):
            raise ValueError(f"not a list row: {row!r}")
        return cls._decoded(task_id, row)

    @classmethod
    def _decoded(cls, task_id: str, row: list) -> "Summary":
        values = [task_id, *row, ""]  # a row carries no description
        for at, if_null, load in _DECODE:
            raw = values[at]
            values[at] = if_null if raw is None else load(raw)
        return tuple.__new__(cls, values)  # what namedtuple's _make does, without its calls: a row is of full width

    @classmethod
    def of_index(cls, rows: dict, ids) -> tuple[list["Summary"], list[str]]:
        """The summaries of every live row of ``rows`` (an index's), and the ids of ``ids`` whose row is of no
        known layout (neither a live task's nor a tombstone's): ``from_row`` and ``known`` over an index in one
        pass."""
        found, layout_known = [], set()
        for task_id, row in rows.items():
            if isinstance(row, list) and len(row) == _WIDTH:
                found.append(cls._decoded(task_id, row))
                layout_known.add(task_id)
            elif is_tombstone(row):
                layout_known.add(task_id)
        return found, [i for i in ids if i not in layout_known]


TOMBSTONE_ROW = {"deleted": True}  # an older tombstone's row, without its revision: final


def tombstone_row(revision: int) -> dict:
    """The row of a task deleted at ``revision`` (a restore at a later revision replaces it)."""
    return {**TOMBSTONE_ROW, "revision": revision}


def is_row(row) -> bool:
    """A live task's row (not a tombstone's)."""
    return isinstance(row, list) and len(row) == len(ROW_FIELDS)


def is_tombstone(row) -> bool:
    return isinstance(row, dict) and row.get("deleted") is True


def row_revision(row) -> int:
    return row[-1] if is_row(row) else 0


def known(row) -> bool:
    """A row of the current layout: a live task's or a tombstone's."""
    return is_row(row) or is_tombstone(row)


def _rank(row) -> float:
    if is_tombstone(row):
        revision = row.get("revision")
        return revision if isinstance(revision, int) else float("inf")
    return row_revision(row)


def newer(row: list | dict, current: list | dict | None, repair: bool = False) -> bool:
    """Whether ``row`` replaces ``current``: rows of a later revision win, live or tombstone.

    A tombstone is written at the revision after the task's last one, so a late
    row of the live task never brings it back, and a restore (at the revision
    after the tombstone's) replaces it. A tombstone row without a revision is final.
    ``repair``: ``row`` was built from the stored document, so it also replaces a row of
    the same revision that says something else (a row no stored version ever had).
    """
    if not known(current):
        return True  # none yet, or another layout
    if repair and row != current and _rank(row) == _rank(current):
        return True
    return _rank(row) > _rank(current)


def merged(index: dict | None, changes: dict[str, list | dict | None], repair: bool = False) -> dict | None:
    """``index`` with ``changes`` applied (a row per task id; ``None`` drops the id), or None if nothing changes.

    A row only replaces an older one, so changes can be applied late or twice; ``repair``: the
    rows were built from the stored documents and also replace a differing row of their revision.
    """
    ids = list((index or {}).get("ids", []))
    rows = dict((index or {}).get("rows") or {})
    changed = False
    for task_id, row in changes.items():
        if row is None:
            changed |= task_id in ids or task_id in rows
            ids = [i for i in ids if i != task_id]
            rows.pop(task_id, None)
        elif newer(row, rows.get(task_id), repair):
            rows[task_id] = row
            if task_id not in ids:
                ids.insert(0, task_id)
            changed = True
    return {"ids": ids, "rows": rows} if changed else None
