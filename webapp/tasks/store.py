"""Where tasks live in Dapr state, and how their events leave it (the outbox).

Layout (keys are prefixed by the sidecar with the app-id):

    task:<id>           the task document; ``revision`` is the version clients
                        see, the ETag guards writes. ``outbox`` holds events not
                        yet published; a deleted task is a *tombstone*
                        (``deleted: true``, TTL) that undo can restore.
    tasks-of:<board id> the board's index: {"ids": [...], newest first,
                        "rows": {<id>: row}} — a row per task with what the
                        list filters and sorts on (``rows.Summary``, an array);
                        a tombstone's row is {"deleted": true, "revision": n}.
                        A user's personal board has the user's id, so this
                        is also ``tasks-of:<user id>``, the index of the
                        tasks stored before boards existed.

**Scope.** Every function here takes the *board* id and answers a task on
another board exactly like a missing one. Who may act on a board is checked
before (``webapp/boards/access.py``); ``load(user_id, task_id)`` of a personal
board's task works as it did before boards.

**Versions.** A change "at version n" reads the document, compares its
``revision`` with n (409 if it moved on) and saves with the ETag just read,
reading again if anything wrote in between. Clearing the outbox rewrites the
document, not the revision: the version a client holds stays current.

**Change and event are one write**: the task document with its event inside
(``outbox``), one key, atomic on every store. ``flush`` then publishes the
outbox and clears it (ETag-guarded). If the broker is down the events wait in
the document for a later ``flush`` (the user's next change, or the relay), so
nothing is lost; an event may go out twice, and subscribers de-duplicate on
its id. A deletion's event rides in the tombstone, which stays (out of the
lists, by its row) until its TTL ends, so a delete can be undone; the sweep
drops the ids of expired tombstones from the index.

Redis transactions do not roll back when one ETag check fails, so a partial
failure may only leave a harmless *dangling id* or *stale row* in the index
(``listing.py`` and the sweep repair them), never a task the index lost:
a create writes task + index (ETag-guarded; created if absent) in one
transaction, retried whole on a conflict; a change writes the task, then its
row (ETag-guarded, retried).
"""

from __future__ import annotations

import logging
from typing import Callable

from flask import current_app

from ..dapr_gateway import Conflict, GatewayError, Item, NotFound, Upsert
from ..errors import Busy, TaskLimitReached
from ..sidecar import gateway, retry_on_conflict
from .model import Task
from .rows import Summary, is_tombstone, merged, tombstone_row

log = logging.getLogger(__name__)
ANY_VERSION = "*"  # If-Match: * — whatever version is current
TOMBSTONE_TTL_SECONDS = 7 * 86400  # until its deletion event is out (the broker may be down for long)
UNDO_SECONDS = 86400  # how long a published tombstone can still be restored
PERSIST = -1  # Dapr's ttlInSeconds for "never expires" (a restored tombstone)
Change = Callable[[Task], tuple[Task, list[dict]]]  # the task as read → (the changed task, its events)


def task_key(task_id: str) -> str:
    return f"task:{task_id}"


def index_key(board_id: str) -> str:
    return f"tasks-of:{board_id}"


def board_of(document: dict) -> str:
    """The board a stored task is on (before boards: its owner's personal board, which has the owner's id)."""
    return document.get("board_id") or document.get("owner") or ""


def owned(item: Item, board_id: str) -> bool:
    """A stored document (live or tombstone) on the board."""
    return item.exists and isinstance(item.value, dict) and board_of(item.value) == board_id


def is_live(item: Item, board_id: str) -> bool:
    """A live task (not a tombstone) on the board."""
    return owned(item, board_id) and not item.value.get("deleted")


def task_of(item: Item) -> Task:
    """The task in a stored document, with the ETag it was read at."""
    return Task.from_dict(item.value, etag=item.etag)


def load(board_id: str, task_id: str) -> Task:
    """The board's task with its version; ``NotFound`` if missing, deleted or on another board."""
    return load_document(board_id, task_id)[0]


def valid_id(task_id: str) -> bool:
    """Could be a task id (anything else is answered as missing without a read)."""
    return bool(task_id) and len(task_id) <= 64


def load_document(board_id: str, task_id: str, deleted: bool = False,
                  read: Item | None = None) -> tuple[Task, dict]:
    """The board's task and its stored document (to change it); ``NotFound`` as ``load``.

    ``deleted``: the board's tombstone instead (``NotFound`` unless there is one). ``read``: the
    document as this request already read it (the access check), instead of reading it again.
    """
    if not valid_id(task_id):
        raise NotFound(task_id)
    item = read if read is not None and read.key == task_key(task_id) else gateway().get(task_key(task_id))
    if not owned(item, board_id) or bool(item.value.get("deleted")) != deleted:
        # Someone else's task answers exactly like a missing one.
        raise NotFound(item.key)
    return task_of(item), item.value


def load_items(user_id: str) -> list[Item]:
    """Every stored document on the board ``user_id`` (tombstones included): the index, then one bulk read."""
    ids = (gateway().get(index_key(user_id)).value or {}).get("ids", [])
    items = gateway().get_many([task_key(i) for i in ids])
    return [it for it in items if owned(it, user_id)]


def load_all(user_id: str) -> list[Task]:
    """Every live task on the board ``user_id`` (a user's id: their personal board)."""
    return [task_of(it) for it in load_items(user_id) if not it.value.get("deleted")]


def reindex(user_id: str, items: list[Item], index: dict | None = None) -> None:
    """Bring every row of the user's index in line with ``items`` (all their documents, as read).

    ``index``: the index as read with ``items`` (the sweep reads many at once); when its
    rows already match, nothing is written and no further call is made.
    """
    if index is None:
        index = gateway().get(index_key(user_id)).value or {}
    found = {it.key: it for it in items}
    rows, _ = rows_from([task_key(i) for i in index.get("ids", [])] + list(found), found)
    if merged(index, rows) is not None:
        merge_rows(user_id, rows)


def rows_from(keys: list[str], found: dict[str, Item]) -> tuple[dict[str, list | dict | None], list[Task]]:
    """Index rows for ``keys`` from their documents as read (``found``), and the live tasks among them."""
    rows: dict[str, list | dict | None] = {}
    live = []
    for key in dict.fromkeys(keys):
        item = found.get(key)
        task_id = key.removeprefix("task:")
        if item is None:
            rows[task_id] = None  # gone (an expired tombstone): a dangling id
        elif item.value.get("deleted"):
            rows[task_id] = tombstone_row(task_of(item).revision)
        else:
            task = task_of(item)
            rows[task_id] = Summary.of(task).to_row()
            live.append(task)
    return rows, live


def merge_from(user_id: str, keys: list[str], found: dict[str, Item]) -> list[Task]:
    """Rows for ``keys`` from their documents as read (``found``); returns the live tasks among them."""
    rows, live = rows_from(keys, found)
    merge_rows(user_id, rows)
    return live


def _index_to_change(user_id: str) -> Item:
    """The user's index with its ETag, to change it; created (empty) first if missing.

    An ETag cannot guard a key that does not exist yet (a write without one is
    last-write-wins: a new user's first concurrent creates overwrote each
    other's index), so the index is created if absent, once.
    """
    gw = gateway()
    index = gw.get(index_key(user_id))
    if not index.exists:
        try:
            gw.create(index_key(user_id), {"ids": [], "rows": {}})
        except Conflict:
            pass  # another request created it first
        index = gw.get(index_key(user_id))
    return index


def merge_rows(user_id: str, rows: dict[str, list | dict | None]) -> None:
    """Set rows of the user's index (``None`` drops the id); a row only replaces an older one.

    ETag-guarded and retried; if it still fails the row stays stale until the
    page or the sweep repairs it, which is why this never raises.
    """
    gw = gateway()

    def attempt() -> None:
        index = _index_to_change(user_id)
        document = merged(index.value, rows)
        if document is not None:
            gw.save(index_key(user_id), document, etag=index.etag)

    try:
        retry_on_conflict(attempt, "index rows")
    except Conflict:
        log.warning("index of %s kept changing; its rows are repaired later", user_id)
    except GatewayError as err:
        log.warning("index of %s not updated (the sweep repairs it): %s", user_id, err)


def repair_row(board_id: str, task: Task) -> None:
    """Put the task's row in its board's index if the change's own update missed it (the index kept changing
    under many writers): one read, a write only if the row is older. The task-events handler calls it."""
    merge_rows(board_id, {task.id: Summary.of(task).to_row()})


def _document(task: Task, events: list[dict], previous: dict | None = None, deleted: bool = False) -> dict:
    """The stored document: the task, plus unpublished events (older ones first); a tombstone if ``deleted``."""
    pending = list((previous or {}).get("outbox", []))
    document = {**task.to_dict(), "outbox": pending + events}
    return {**document, "deleted": True} if deleted else document


def insert(task: Task, events: list[dict]) -> bool:
    """Store a new task with its events and add it (and its row) to its board's index.

    False when the task was already there: a derived id (the next instance of a
    recurring task) that a concurrent delivery created first. Checked whenever the
    index lists the id, not left to the store: Dapr's Redis store refuses the
    write without an ETag once the outbox was cleared with one, but PostgreSQL
    would overwrite the task.
    Raises ``Busy`` when the index kept changing through every retry (a burst of
    the owner's writes): nothing was created, and trying again later is safe.
    Raises ``TaskLimitReached`` when the index already lists ``MAX_TASKS_PER_USER``
    live tasks, or twice as many ids with tombstones (a day's undo of deletions):
    the index stays far below daprd's 4 MB item limit (~1 MB at 5,000).
    """
    gw = gateway()
    document = _document(task, events)
    limit = int(current_app.config["MAX_TASKS_PER_USER"])

    def attempt() -> bool:
        index = _index_to_change(task.board_id)
        listed = (index.value or {}).get("ids", [])
        ids = [i for i in listed if i != task.id]
        if len(ids) < len(listed) and gw.get(task_key(task.id)).exists:
            return False  # listed and stored: someone else created this very task meanwhile
        rows = (index.value or {}).get("rows") or {}
        if len(ids) >= 2 * limit or sum(not is_tombstone(rows.get(i)) for i in ids) >= limit:
            raise TaskLimitReached(limit)
        rows = {**rows, task.id: Summary.of(task).to_row()}
        gw.transact([
            Upsert(task_key(task.id), document),
            Upsert(index_key(task.board_id), {"ids": [task.id, *ids], "rows": rows}, etag=index.etag),
        ])
        return True

    try:
        return retry_on_conflict(attempt, "task insert")
    except Conflict as err:
        raise Busy(f"index of {task.board_id} kept changing: {err}") from err


def _at_version(task: Task, expected_version: str | None) -> bool:
    return expected_version == ANY_VERSION or (bool(expected_version) and task.version == expected_version)


def change(board_id: str, task_id: str, expected_version: str | None, apply: Change,
           delete: bool = False, read: Item | None = None) -> tuple[Task, list[dict]]:
    """Store ``apply(task)`` over the board's task if it is at ``expected_version`` (``"*"``: any).

    Read, compare the revision, write with the ETag just read; a write in
    between (another change, or the outbox being cleared) means read again.
    ``delete``: store a tombstone. ``read``: the document as already read
    (the first attempt starts from it). Returns what ``apply`` made.
    ``Conflict`` when the task is at another version, ``NotFound`` as ``load``.
    """
    first = [read] if read is not None else []

    def attempt() -> tuple[Task, list[dict]] | None:
        task, document = load_document(board_id, task_id, read=first.pop() if first else None)
        if not _at_version(task, expected_version):
            return None
        changed, events = apply(task)
        gateway().save(task_key(task_id), _document(changed, events, document, deleted=delete),
                       etag=task.etag, ttl_seconds=TOMBSTONE_TTL_SECONDS if delete else None)
        return changed, events

    done = retry_on_conflict(attempt, "task change")
    if done is None:
        raise Conflict(f"task {task_id} is no longer at version {expected_version}")
    changed = done[0]
    merge_rows(board_id, {task_id: tombstone_row(changed.revision) if delete else Summary.of(changed).to_row()})
    return done


def restore(board_id: str, task_id: str, apply: Change, read: Item | None = None) -> tuple[Task, list[dict]]:
    """Bring back the board's deleted task as ``apply`` makes it; ``NotFound`` unless its tombstone is there."""
    first = [read] if read is not None else []

    def attempt() -> tuple[Task, list[dict]]:
        tombstone, document = load_document(board_id, task_id, deleted=True, read=first.pop() if first else None)
        changed, events = apply(tombstone)
        gateway().save(task_key(task_id), _document(changed, events, document), etag=tombstone.etag,
                       ttl_seconds=PERSIST)  # the tombstone's TTL must not expire the task
        return changed, events

    done = retry_on_conflict(attempt, "task restore")
    merge_rows(board_id, {task_id: Summary.of(done[0]).to_row()})
    return done


from .outbox import flush, flush_user  # noqa: E402,F401  (publishing the outbox; callers know them here)
