"""How a new task is stored: its document, its row in its board's index and its events in ONE transaction whose
one guarded write is the index (``insert``), or, for an id derived from something else (a series' next
instance), created first-write and then listed (``insert_once``). The document's layout and the commit rules
are ``store.py``'s; the holder's "My tasks" entry follows the insert (``my_tasks_followup.py``).
"""

from __future__ import annotations

from typing import Callable

from flask import current_app

from ..dapr_gateway import Conflict, Delete, GatewayError, Item, NotFound, Upsert
from ..errors import Busy, ListFull, TaskLimitReached
from ..keys import history_key, index_key, task_key
from ..sidecar import gateway, in_turn, retry_on_conflict
from . import my_tasks_followup
from .index import check_room, index_to_change
from .model import Task
from .rows import Summary, is_tombstone
from .store import is_live, outbox_writes, stored_document, task_of

INDEX_INSERTER = "board-index-inserter"  # app.extensions: how a new task is listed in its index (``insert``)


def insert(task: Task, events: list[dict], with_history: bool = True) -> bool:
    """``insert_here``, through the app's ``INDEX_INSERTER`` when it has one (a shared board's actor takes the
    creates in turns, ``webapp/boards/actor.py``). Returns and raises as ``insert_here``."""
    inserter = current_app.extensions.get(INDEX_INSERTER) or insert_here
    return inserter(task, events, with_history)


def insert_here(task: Task, events: list[dict], with_history: bool = True) -> bool:
    """Store a new task (a fresh id), its row in its board's index and its events, in ONE state transaction.

    The index is the transaction's one guarded write; the task, its outbox items and its
    (empty) history are new keys, so an attempt that loses on the index leaves only keys no
    index lists, rewritten whole by the retry. False when the index already lists the id
    and the task is stored (ids derived from something else go through ``insert_once``).
    The task's (empty) history is created with it, so the event handler always finds
    it and appends with its ETag (``with_history``).
    Raises ``Busy`` when the index kept changing through every retry (a burst of
    the owner's writes), ``NotFound`` when the board was deleted meanwhile,
    ``TaskLimitReached`` when the index already lists ``MAX_TASKS_PER_BOARD``
    live tasks, or twice as many ids with tombstones (a day's undo of deletions), and
    ``ListFull`` when its row would take the index past ``INDEX_MAX_BYTES`` (titles and
    tags of many-byte characters): the index stays under daprd's 4 MiB message limit.
    Whichever it raises, the keys earlier attempts wrote are removed: nothing of the task is left —
    unless another writer of the same task (the board actor's late turn, or the request that stopped
    waiting for it) listed it meanwhile: then it is stored, and this returns False.
    """
    gw = gateway()
    document = stored_document(task, [e["event_id"] for e in events])
    limit = int(current_app.config["MAX_TASKS_PER_BOARD"])
    extra = [Upsert(history_key(task.id), {"items": []})] if with_history else []
    pending: list[Item] = []  # the index as first read, for the first attempt

    def attempt() -> bool:
        index = pending.pop() if pending else index_to_change(task.board_id)
        listed = (index.value or {}).get("ids", [])
        ids = [i for i in listed if i != task.id]
        if len(ids) < len(listed) and gw.get(task_key(task.id)).exists:
            return False  # listed and stored: someone else created this very task meanwhile
        rows = (index.value or {}).get("rows") or {}
        if len(ids) >= 2 * limit or sum(not is_tombstone(rows.get(i)) for i in ids) >= limit:
            raise TaskLimitReached(limit)
        row = Summary.of(task).to_row()
        check_room(index, task.id, row)
        rows = {**rows, task.id: row}
        written.append(True)
        gw.transact(new_keys + [
            Upsert(index_key(task.board_id), {"ids": [task.id, *ids], "rows": rows}, etag=index.etag)])
        return True

    new_keys = [Upsert(task_key(task.id), document), *outbox_writes(events), *extra]
    written: list[bool] = []
    # This process's creates on the board take turns (each reads the index and the holder's "My tasks" once
    # and writes them without meeting another), the slowest waiting at most ``TURN_WAIT_SECONDS``.
    with in_turn(index_key(task.board_id)):
        try:
            # The index and the holder's "My tasks" in one read; the first attempt starts from it.
            first = gw.get_many([index_key(task.board_id), *my_tasks_followup.keys_to_read(task)])
            reads = {it.key: it for it in first[1:]}
            if first[0].exists and not (first[0].value or {}).get("closed"):
                pending.append(first[0])
            try:
                inserted = retry_on_conflict(attempt, "task insert")
            except Conflict as err:
                raise Busy(f"index of {task.board_id} kept changing: {err}") from err
        except (Busy, NotFound, TaskLimitReached, ListFull):
            if written and _listed(task):
                return False
            if written:  # on Redis an attempt that lost on the index still wrote the new keys (no rollback)
                gw.transact([Delete(op.key) for op in new_keys])
            raise
        if inserted:
            my_tasks_followup.follow(None, task, reads=reads)
    return inserted


def _listed(task: Task) -> bool:
    """Whether the task's board's index lists it now (False when that cannot be read)."""
    try:
        return task.id in (gateway().get(index_key(task.board_id)).value or {}).get("ids", [])
    except GatewayError:
        return False


def insert_once(task: Task, events_for: Callable[[Task], list[dict]]) -> tuple[Task, list[dict]] | None:
    """Store a task whose id is derived (a series' next instance) once, however many try at once.

    The document is created first-write (one creator wins; a document left by a creator that
    died before listing it is taken as it is), then listed with its events in one transaction
    whose one guarded write is the index. ``events_for(task)`` must derive its event ids, so
    every attempt stores the same events. Returns the task and its events when this call
    listed it, None when it was listed already. ``TaskLimitReached``/``ListFull`` as ``insert``.
    """
    gw = gateway()
    key = task_key(task.id)
    item = gw.get(key)
    if not item.exists:
        document = stored_document(task, [e["event_id"] for e in events_for(task)])
        try:
            gw.create(key, document)
            item = Item(key, document, None)
        except Conflict:
            item = gw.get(key)  # another handling created it first
    if not is_live(item, task.board_id):
        return None  # deleted (or not on its board) since: nothing to list
    task = task_of(item)
    events = events_for(task)
    limit = int(current_app.config["MAX_TASKS_PER_BOARD"])

    def attempt() -> bool:
        index = index_to_change(task.board_id)
        ids = (index.value or {}).get("ids", [])
        if task.id in ids:
            return False
        rows = (index.value or {}).get("rows") or {}
        if len(ids) >= 2 * limit or sum(not is_tombstone(rows.get(i)) for i in ids) >= limit:
            raise TaskLimitReached(limit)
        row = Summary.of(task).to_row()
        check_room(index, task.id, row)
        gw.transact([Upsert(index_key(task.board_id), {"ids": [task.id, *ids], "rows": {**rows, task.id: row}},
                            etag=index.etag), *outbox_writes(events)])
        return True

    try:
        listed = retry_on_conflict(attempt, "task insert")
    except Conflict as err:
        raise Busy(f"index of {task.board_id} kept changing: {err}") from err
    if listed:
        my_tasks_followup.follow(None, task)
    return (task, events) if listed else None
