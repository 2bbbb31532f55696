"""Tasks as values: creation, edits, transitions and list queries. No I/O."""

from __future__ import annotations

import uuid
from dataclasses import MISSING, dataclass, field, make_dataclass, replace
from datetime import datetime
from operator import attrgetter
from typing import Sequence

from .. import recurrence
from ..timezones import OutOfRange, in_range
from . import checklist
from .fields import BY_NAME, FIELDS, NAMES

STATUSES = BY_NAME["status"].values
PRIORITIES = BY_NAME["priority"].values
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
_SORTABLE = {spec.name: spec for spec in FIELDS if spec.sort}
SORTS = {
    "updated": "Recently updated",
    "created": "Newest first",
    "due": "Due date",
    "priority": "Priority",
    "title": "Title",
    **{name: spec.sort for name, spec in _SORTABLE.items()},
}
SYSTEM_DATETIMES = ("created_at", "updated_at", "completed_at", "anchor_at")  # kept by the task, not set by users


class InvalidTransition(ValueError):
    """The task cannot move to the asked status from where it is."""


# What a user can set on a task (validated by the forms / API schema): one attribute per field of ``FIELDS``;
# a field the edit form does not carry (``in_form``) is None unless set, which keeps the task's value.
TaskFields = make_dataclass(
    "TaskFields",
    [(s.name, s.kind.type, field(default=MISSING if s.required else s.default if s.in_form else None))
     for s in FIELDS],
    frozen=True, namespace={"__module__": __name__, "__doc__": "What a user can set on a task."})


class _TaskBehaviour:
    """What a task does besides holding its fields (``Task`` adds the fields)."""

    @property
    def version(self) -> str:
        """The version clients see (pages, API ETag, events): changes only when the task does.

        Not the state ETag: a document rewritten without a change to the task (by a
        migration, say) must not make what a client holds stale.
        """
        return str(self.revision)

    def to_dict(self) -> dict:
        """The stored form (the ETag is the store's, not part of the document)."""
        # Not ``asdict``: it deep-copies every value, and the user's fields are dumped afresh below; the other
        # values are strings, numbers, times and a tuple of ids, none of which a copy would protect.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "etag"}
        for spec in FIELDS:
            data[spec.name] = spec.dump(getattr(self, spec.name))
        for key in SYSTEM_DATETIMES:
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_dict(cls, data: dict, etag: str | None = None) -> "Task":
        """The task from its stored form, read at ``etag``."""
        values = {k: data.get(k) for k in cls.__dataclass_fields__ if k != "etag"}
        values.update({spec.name: spec.load(data.get(spec.name)) for spec in FIELDS})
        values["occurrence"] = int(data.get("occurrence") or 0)
        values["revision"] = int(data.get("revision") or 0)
        values["timezone"] = data.get("timezone") or "UTC"
        values["board_id"] = data.get("board_id") or ""
        values["comments"] = tuple(data.get("comments") or ())
        for key in SYSTEM_DATETIMES:
            values[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        return cls(**values, etag=etag)

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    def is_overdue(self, now: datetime) -> bool:
        return bool(self.due_at and not self.is_completed and self.due_at < now)


# A task: its id and owner, the user's fields (``FIELDS``), then what the app keeps about it.
Task = make_dataclass("Task", [
    ("id", str),
    ("owner", str),
    *[(s.name, s.kind.type) for s in FIELDS],
    ("created_at", datetime),
    ("updated_at", datetime),
    ("completed_at", datetime | None, field(default=None)),
    # Recurring tasks: every instance shares the series id; occurrences are
    # counted from the anchor (the series' first due time) in the owner's zone.
    ("series_id", str | None, field(default=None)),
    ("anchor_at", datetime | None, field(default=None)),
    ("occurrence", int, field(default=0)),
    ("timezone", str, field(default="UTC")),
    ("revision", int, field(default=0)),  # counts changes: the version clients see and events carry
    # The board the task is on: its index is ``tasks-of:<board_id>`` (a user's personal board has the user's id).
    ("board_id", str, field(default="")),
    ("comments", tuple, field(default=())),  # the ids of its comments, newest first (``webapp/comments``)
    ("etag", str | None, field(default=None, compare=False)),  # the state ETag it was read at (for the next write)
], bases=(_TaskBehaviour,), frozen=True, namespace={"__module__": __name__, "__doc__": "A task on a board (``owner``: who created it)."})


def new_task(owner: str, fields: TaskFields, now: datetime, task_id: str | None = None,
             tz: str = "UTC", board_id: str | None = None) -> Task:
    """A new task by ``owner`` on ``board_id`` (default: their personal board); completed if its status says so."""
    task_id = task_id or uuid.uuid4().hex
    return _with_series(Task(
        id=task_id,
        owner=owner,
        **_settable(fields),
        created_at=now,
        updated_at=now,
        completed_at=now if fields.status == "completed" else None,
        timezone=tz,
        revision=1,
        board_id=board_id or owner,
    ))


def _settable(fields: TaskFields, task: Task | None = None) -> dict:
    """The task attributes a user sets, cleaned; one not carried by the edit form (None) keeps ``task``'s."""
    values = {}
    for spec in FIELDS:
        value = getattr(fields, spec.name)
        if value is None and not spec.in_form:
            value = getattr(task, spec.name) if task is not None else spec.default
        values[spec.name] = spec.kind.clean(value) if value is not None else None
    return values


def _with_series(task: Task) -> Task:
    """Start a new series at the task's due time if it repeats (or end it if not)."""
    if task.recurrence == "none" or task.due_at is None:
        return replace(task, series_id=None, anchor_at=None, occurrence=0)
    return replace(task, series_id=task.series_id or task.id, anchor_at=task.due_at, occurrence=0)


def edited(task: Task, fields: TaskFields, now: datetime, tz: str | None = None) -> Task:
    """The task with the edits of a user in zone ``tz`` applied.

    A new due time or rule restarts the series in the editor's zone (the wall clock they set it by);
    any other edit keeps the series' zone, so its instances stay at the same wall-clock time.
    """
    completed_at = task.completed_at
    if fields.status == "completed" and not task.is_completed:
        completed_at = now
    elif fields.status != "completed":
        completed_at = None
    changed = replace(
        task,
        **_settable(fields, task),
        updated_at=now,
        completed_at=completed_at,
        revision=task.revision + 1,
    )
    if (changed.due_at, changed.recurrence) != (task.due_at, task.recurrence):
        changed = _with_series(replace(changed, timezone=tz or task.timezone))
    return changed


def completed(task: Task, now: datetime) -> Task:
    """The task marked done; ``InvalidTransition`` if it already is."""
    if task.is_completed:
        raise InvalidTransition("This task is already completed.")
    return replace(task, status="completed", completed_at=now, updated_at=now, revision=task.revision + 1)


def reopened(task: Task, now: datetime) -> Task:
    """The task back to pending; ``InvalidTransition`` unless it is completed."""
    if not task.is_completed:
        raise InvalidTransition("Only completed tasks can be reopened.")
    return replace(task, status="pending", completed_at=None, updated_at=now, revision=task.revision + 1)


def buried(task: Task, now: datetime) -> Task:
    """The task as its tombstone keeps it: deleting is a change, so a new revision."""
    return replace(task, updated_at=now, revision=task.revision + 1)


def restored(task: Task, now: datetime) -> Task:
    """A deleted task brought back (undo): its fields as they were, at a new revision."""
    return replace(task, updated_at=now, revision=task.revision + 1)


def next_instance(task: Task, now: datetime) -> Task | None:
    """The next occurrence of a recurring task (its id is derived, so creating it twice is one task);
    None if the task does not repeat, or if its series ends because that occurrence falls outside the
    supported range (``timezones.EARLIEST``..``LATEST``)."""
    if task.recurrence == "none" or not task.anchor_at or not task.series_id:
        return None
    try:
        due, n = recurrence.next_due(task.anchor_at, task.recurrence, task.occurrence, task.timezone)
    except OutOfRange:
        return None
    return replace(
        task,
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"taskboard:{task.series_id}:{n}").hex,
        status="pending", due_at=due, remind_at=_reminder_before(task, due), occurrence=n,
        created_at=now, updated_at=now, completed_at=None, etag=None, revision=1,
        checklist=checklist.reset(task.checklist), comments=(),
    )


def _reminder_before(task: Task, due: datetime) -> datetime | None:
    """A reminder as far before ``due`` as the task's is before its due time; None without one, or if it
    would fall outside the supported range (one stored before the range was checked)."""
    if not task.remind_at or not task.due_at:
        return None
    try:
        remind = due - (task.due_at - task.remind_at)
    except OverflowError:
        return None
    return remind if in_range(remind) else None


def fields_of(task: Task) -> TaskFields:
    """The user-settable fields of a task (to re-apply an edit, or to fill a form)."""
    return TaskFields(**{name: getattr(task, name) for name in NAMES})


def changed_fields(before: Task, after: Task) -> list[str]:
    """Names of user-visible fields that differ."""
    return [n for n in NAMES if getattr(before, n) != getattr(after, n)]


@dataclass(frozen=True)
class ListQuery:
    """Filters, search, sort and page of the task list."""

    status: str = ""
    priority: str = ""
    tag: str = ""
    q: str = ""
    sort: str = "updated"
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Page:
    items: list[Task]
    total: int
    page: int
    pages: int
    tags: list[str]  # every tag of the user's tasks, for the filter menu


def _unset_last(value, key) -> tuple:
    return (True, 0) if value is None else (False, key(value))


def _sort_key(sort: str):
    far = datetime.max.replace(tzinfo=None)
    if sort == "due":
        return lambda t: (t.due_at is None, t.due_at.replace(tzinfo=None) if t.due_at else far, t.title.lower()), False
    if sort == "priority":
        return lambda t: (PRIORITY_RANK.get(t.priority, 9), t.title.lower()), False
    if sort == "title":
        return lambda t: (t.title.lower(), t.id), False
    if sort == "created":
        return attrgetter("created_at", "id"), True  # (created_at, id) built in C: a list sorts every row it has
    if sort in _SORTABLE:  # a declared field's sort: ascending, unset last
        spec = _SORTABLE[sort]
        return lambda t: (*_unset_last(getattr(t, spec.name), spec.kind.sort_key), t.title.lower()), False
    return attrgetter("updated_at", "id"), True


def matches(task: Task, query: ListQuery) -> bool:
    """Whether a task (or its list row, ``rows.Summary``) passes the query's filters and search."""
    needle = query.q.strip().lower()
    return ((not query.status or task.status == query.status)
            and (not query.priority or task.priority == query.priority)
            and (not query.tag or query.tag in task.tags)
            and (not needle or needle in task.title.lower() or needle in task.description.lower()
                 or any(needle in tag for tag in task.tags)))


def in_order(tasks: list, sort: str) -> list:
    """``tasks`` (or summaries) in the list's ``sort`` order."""
    key, reverse = _sort_key(sort if sort in SORTS else "updated")
    return sorted(tasks, key=key, reverse=reverse)


def all_tags(tasks: Sequence) -> list[str]:
    """Every tag of ``tasks`` (or of their summaries), sorted: the filter menu's."""
    return sorted({tag for t in tasks for tag in t.tags})


def select(tasks: Sequence, query: ListQuery, in_sort_order: bool = False, tags: list[str] | None = None) -> Page:
    """Filter, search, sort and cut one page out of ``tasks`` (or of their summaries).

    ``in_sort_order``: ``tasks`` are in ``query.sort``'s order already (``in_order``); ``tags``: their
    ``all_tags``, if known."""
    filtered = query.status or query.priority or query.tag or query.q.strip()
    matching = [t for t in tasks if matches(t, query)] if filtered else tasks
    if not in_sort_order:
        matching = in_order(matching, query.sort)
    per_page = max(1, query.per_page)
    pages = max(1, -(-len(matching) // per_page))
    page = min(max(1, query.page), pages)
    start = (page - 1) * per_page
    return Page(list(matching[start:start + per_page]), len(matching), page, pages,
                all_tags(tasks) if tags is None else tags)
