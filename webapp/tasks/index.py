"""A board's index, ``tasks-of:<board id>``: the ids of its tasks and a row per task with what the list shows.

A row is derived from its task's document, so it is written after the document (its own guarded write,
``put_row``) and repaired from the documents when it missed that write (``reindex``, ``merge_from``): the
relay and the sweep do, and the list page for the rows it reads.
"""

from __future__ import annotations

import logging

from flask import current_app

from ..dapr_gateway import Conflict, GatewayError, Item, NotFound
from ..dapr_gateway.values import encoded_size
from ..errors import ListFull
from ..keys import index_key, task_id_of, task_key
from ..sidecar import gateway, retry_on_conflict
from .model import Task
from .rows import Summary, merged, tombstone_row

log = logging.getLogger(__name__)


def reindex(user_id: str, items: list[Item], index: dict | None = None) -> None:
    """Bring every row of the user's index in line with ``items`` (all their documents, as read).

    ``index``: the index as read with ``items`` (the sweep reads many at once); when its
    rows already match, nothing is written and no further call is made.
    """
    if index is None:
        index = gateway().get(index_key(user_id)).value or {}
    found = {it.key: it for it in items}
    rows, _ = rows_from([task_key(i) for i in index.get("ids", [])] + list(found), found)
    if merged(index, rows, repair=True) is not None:
        merge_rows(user_id, rows, repair=True)


def rows_from(keys: list[str], found: dict[str, Item]) -> tuple[dict[str, list | dict | None], list[Task]]:
    """Index rows for ``keys`` from their documents as read (``found``), and the live tasks among them."""
    rows: dict[str, list | dict | None] = {}
    live = []
    for key in dict.fromkeys(keys):
        item = found.get(key)
        task_id = task_id_of(key)
        if item is None:
            rows[task_id] = None  # gone (an expired tombstone): a dangling id
        elif item.value.get("deleted"):
            rows[task_id] = tombstone_row(Task.from_dict(item.value, etag=item.etag).revision)
        else:
            task = Task.from_dict(item.value, etag=item.etag)
            rows[task_id] = Summary.of(task).to_row()
            live.append(task)
    return rows, live


def merge_from(user_id: str, keys: list[str], found: dict[str, Item]) -> list[Task]:
    """Rows for ``keys`` from their documents as read (``found``); returns the live tasks among them."""
    rows, live = rows_from(keys, found)
    merge_rows(user_id, rows, repair=True)
    return live


def index_to_change(user_id: str) -> Item:
    """The user's index with its ETag, to change it; created (empty) first if missing.

    An ETag cannot guard a key that does not exist yet (a write without one is
    last-write-wins: a new user's first concurrent creates overwrote each
    other's index), so the index is created if absent, once. ``NotFound`` if the
    board was deleted: its deletion leaves the index closed (``"closed": true``,
    ``boards.deletion.CLOSED_INDEX``), so nothing writes a task into it again.
    """
    gw = gateway()
    index = gw.get(index_key(user_id))
    if not index.exists:
        try:
            gw.create(index_key(user_id), {"ids": [], "rows": {}})
        except Conflict:
            pass  # another request created it first
        index = gw.get(index_key(user_id))
    if (index.value or {}).get("closed"):
        raise NotFound(index.key)
    return index


def merge_rows(user_id: str, rows: dict[str, list | dict | None], repair: bool = False) -> None:
    """Set rows of the user's index (``None`` drops the id); a row only replaces an older one.

    ETag-guarded and retried; if it still fails the row stays stale until the
    page or the sweep repairs it, which is why this never raises.
    """
    gw = gateway()

    def attempt() -> None:
        index = index_to_change(user_id)
        document = merged(index.value, rows, repair)
        if document is not None:
            gw.save(index_key(user_id), document, etag=index.etag)

    try:
        retry_on_conflict(attempt, "index rows")
    except Conflict:
        log.warning("index of %s kept changing; its rows are repaired later", user_id)
    except GatewayError as err:
        log.warning("index of %s not updated (the sweep repairs it): %s", user_id, err)


def row_of(task: Task, deleted: bool) -> list | dict:
    """The task's row in its board's index (a tombstone's if ``deleted``)."""
    return tombstone_row(task.revision) if deleted else Summary.of(task).to_row()


def index_size_with(index: Item, task_id: str, row: list | dict) -> int:
    """The index's size in bytes once ``row`` is the task's row (from its size as read)."""
    old = ((index.value or {}).get("rows") or {}).get(task_id)
    listed = encoded_size(old) if old is not None else -(2 * len(task_id) + 8)  # a new id: in "ids" and "rows"
    return index.size + encoded_size(row) - listed


def check_room(index: Item, task_id: str, row: list | dict) -> None:
    """``ListFull`` if the row would grow the board's index past ``INDEX_MAX_BYTES`` (a shrinking row always fits)."""
    limit = int(current_app.config["INDEX_MAX_BYTES"])
    after = index_size_with(index, task_id, row)
    if after > limit and after > index.size:
        raise ListFull(limit)


def put_row(board_id: str, task: Task, deleted: bool = False, index: Item | None = None) -> bool:
    """Put a committed task's row in its board's index (ETag-guarded, retried); False when it kept losing.

    ``index``: the index as this request read it (the first attempt uses it). A row only
    replaces an older one, so a late or repeated write is harmless. Called only after the
    task's own write passed: a change that lost its race never reaches its row.
    """
    gw = gateway()
    first = [index] if index is not None and index.exists else []

    def attempt() -> None:
        current = first.pop() if first else index_to_change(board_id)
        document = merged(current.value, {task.id: row_of(task, deleted)})
        if document is not None:
            gw.save(index_key(board_id), document, etag=current.etag)

    try:
        retry_on_conflict(attempt, "index rows")
        return True
    except Conflict:
        log.warning("row of %s on %s kept losing; the relay repairs it from the document", task.id, board_id)
    except GatewayError as err:
        log.warning("row of %s on %s not written (the relay repairs it): %s", task.id, board_id, err)
    return False
