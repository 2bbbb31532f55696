"""Where tasks live in Dapr state, and how their events leave it (the outbox).

Layout (keys are prefixed by the sidecar with the app-id):

    task:<id>           the task document; ``revision`` is the version clients
                        see, the ETag guards writes. ``outbox`` lists the ids of
                        its events not known to be handled; a deleted task is a
                        *tombstone* (``deleted: true``, TTL) that undo can restore.
    tasks-of:<board id> the board's index: {"ids": [...], newest first,
                        "rows": {<id>: row}} — a row per task with what the
                        list shows, filters and sorts on (``rows.Summary``, an
                        array); a tombstone's row is {"deleted": true, "revision": n}.
                        A user's personal board has the user's id, so this
                        is also ``tasks-of:<user id>``.
    outbox:<event id>   an event stored with its change (TTL 30 days), deleted
                        by the task-events handler once handled.

**Scope.** Every function here takes the *board* id and answers a task on
another board exactly like a missing one. Who may act on a board is checked
before (``webapp/boards/access.py``); ``load(user_id, task_id)`` of a personal
board's task is the task on the board whose id is that user's.

**The document is the commit point.** A change reads the task (one bulk read, or
the access check's read), compares its ``revision`` with the version the client
holds (409 if it moved on) and writes, in ONE state transaction, the task
document (the only ETag-guarded write in it) and its events (``outbox:<event
id>``, new keys). Then the task's row goes into the board's index (its own
guarded write, ``put_row``), and the request publishes the events
(``outbox.py``); the task-events handler deletes each event's outbox item once
handled. Nothing rewrites the document afterwards, so its ETag moves only when
the task does.

This holds on every store because it never needs a rollback. Redis runs a
transaction as MULTI/EXEC of one script per operation plus a separate EXPIRE,
and keeps the operations whose ETag check passed: a transaction with two
guarded writes can half-apply, and a TTL on a guarded write is applied even
when its guard fails. So a transaction here holds at most ONE guarded write and
never a TTL on it: a change that loses its race leaves at most outbox items that
no document lists (never published, they expire) — no row, no expiry, no event.
A row is written only after its task's write passed, and only replaces an older
one; if the row write keeps losing (or the process dies first), the relay
(boards marked pending) or the sweep rebuilds the row from the document.
If the broker is down, or the process dies before the publish, the outbox items
stay, listed by their documents, and the relay or the sweep publishes them:
nothing is lost; an event may go out twice, and subscribers de-duplicate on its
id. A deleted task is a tombstone without a TTL; the sweep deletes it (a guarded
delete: an undo that came first wins) once the undo window has passed and its
events are handled, and drops its row.
"""

from __future__ import annotations

from typing import Callable

from flask import current_app

from ..dapr_gateway import Conflict, Delete, Item, NotFound, Upsert
from ..keys import (GONE_TTL_SECONDS, event_id_of, history_key, index_key, outbox_key, task_id_of, task_key,
                    task_remains_gone)
from ..sidecar import clear_for_good, gateway, retry_on_conflict
from . import my_tasks_followup
from .index import check_room, put_row, row_of
from .model import Task
from .relay_marks import mark_or_owe, mark_pending

ANY_VERSION = "*"  # If-Match: * — whatever version is current
UNDO_SECONDS = 86400  # how long a tombstone is kept once its events are handled (undo until the sweep purges it)
PERSIST = -1  # Dapr's ttlInSeconds for "never expires": a restore clears any expiry its tombstone carried
OUTBOX_TTL_SECONDS = 30 * 86400  # an event not handled by then is given up (the broker down for a month)
OUTBOX_CARRY = 8  # pending event ids a change carries over without checking which are still pending
NOTE_ATTEMPTS = 30  # a note (a comment) retried this often: twenty people commenting at once all get theirs in
Reads = dict[str, Item]  # what a request already read, by key (a change starts from it)
Change = Callable[[Task], tuple[Task, list[dict]]]  # the task as read → (the changed task, its events)
ROW_WRITER = "board-row-writer"  # app.extensions: how a committed change's row reaches its index (``_write_row``)
PURGING = "purging"  # a tombstone's mark while the sweep purges it: no undo brings it back from then on
HANDLER_FOLLOWS = frozenset({"checklist"})  # a change of only these: its row follows in the event's handling


def board_of(document: dict) -> str:
    """The board a stored task is on."""
    return document.get("board_id") or ""


def owned(item: Item, board_id: str) -> bool:
    """A stored document (live or tombstone) on the board."""
    return item.exists and isinstance(item.value, dict) and board_of(item.value) == board_id


def is_live(item: Item, board_id: str) -> bool:
    """A live task (not a tombstone) on the board."""
    return owned(item, board_id) and not item.value.get("deleted")


def task_of(item: Item) -> Task:
    """The task in a stored document, with the ETag it was read at."""
    return Task.from_dict(item.value, etag=item.etag)


def clear_remains(items: list[Item]) -> None:
    """Clear what these gone tasks leave beside their documents (history, overdue marker, watchers, comments):
    overwritten with their "gone" values, expiring (``keys.task_remains_gone``, ``sidecar.clear_for_good``: a
    writer that read one before fails its guarded write from then on). ``GatewayError``."""
    gone = [pair for it in items for pair in task_remains_gone(task_id_of(it.key), it.value.get("comments") or [])]
    clear_for_good(gone, GONE_TTL_SECONDS, "clearing a gone task's remains")


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
    if not owned(item, board_id) or bool(item.value.get("deleted")) != deleted or item.value.get(PURGING):
        # Someone else's task answers exactly like a missing one; so does a tombstone being purged.
        raise NotFound(item.key)
    return task_of(item), item.value


def load_items(board_id: str) -> list[Item]:
    """Every stored document on the board (tombstones included): the index, then one bulk read."""
    ids = (gateway().get(index_key(board_id)).value or {}).get("ids", [])
    items = gateway().get_many([task_key(i) for i in ids])
    return [it for it in items if owned(it, board_id)]


def load_all(board_id: str) -> list[Task]:
    """Every live task on the board (a user's id: their personal board)."""
    return [task_of(it) for it in load_items(board_id) if not it.value.get("deleted")]


def stored_document(task: Task, event_ids: list[str], deleted: bool = False) -> dict:
    """The stored document: the task, the ids of its events not known to be handled; a tombstone if ``deleted``."""
    document = {**task.to_dict(), "outbox": event_ids}
    return {**document, "deleted": True} if deleted else document


def outbox_writes(events: list[dict]) -> list[Upsert]:
    """Each event in its own ``outbox:<event id>`` item, written in the change's transaction."""
    return [Upsert(outbox_key(e["event_id"]), e, ttl_seconds=OUTBOX_TTL_SECONDS) for e in events]


def _still_pending(previous: dict | None, history: Item | None = None) -> list[str]:
    """What a change carries over from the document it replaces: the ids of events not known to be handled.

    An id the task's ``history`` (as the request read it) holds is handled: the handler records the entry in
    the transaction that deletes the event's outbox item. The rest are carried without a read while there are
    few; past ``OUTBOX_CARRY`` one bulk read keeps only those whose outbox item is still there.
    """
    handled = {e.get("id") for e in ((history.value or {}).get("items") or []) if isinstance(e, dict)} \
        if history is not None and isinstance(history.value, dict) else set()
    ids = [e for e in (previous or {}).get("outbox") or [] if e not in handled]
    if len(ids) >= OUTBOX_CARRY:
        ids = [event_id_of(it.key) for it in gateway().get_many([outbox_key(i) for i in ids])
               if it.exists]
    return ids


def _at_version(task: Task, expected_version: str | None) -> bool:
    return expected_version == ANY_VERSION or (bool(expected_version) and task.version == expected_version)


def _commit(key: str, document: dict, etag: str | None, events: list[dict], restoring: bool) -> None:
    """The change's commit point: ONE ETag-guarded write of the task document, with its events' outbox items.

    The document is the only guarded write, so on a store whose transactions keep the parts
    that passed (Redis) a lost race leaves only outbox items no document lists: never
    published, they expire. No TTL rides on the guarded write (Redis would apply it even when
    the guard fails): tombstones are purged by the sweep with a guarded delete. A restore
    clears any expiry an older tombstone carried with a single guarded save, which applies
    its PERSIST only once the write itself passed.
    """
    gw = gateway()
    if restoring:
        gw.transact(outbox_writes(events))
        gw.save(key, document, etag=etag, ttl_seconds=PERSIST)
        return
    gw.transact([Upsert(key, document, etag=etag), *outbox_writes(events)])


def _write(board_id: str, task_id: str, apply: Change, reads: Reads | None, *, expected_version: str | None = None,
           delete: bool = False, restoring: bool = False) -> tuple[Task, list[dict]]:
    """The one write of a change: the task and its events (``_commit``, retried on a conflict), then its row.

    Each attempt reads the task (the first one takes what the request already read:
    ``reads``), checks its version and commits. Once the commit passed the change is
    stored and answered as such: the row follows (``put_row``); if it keeps losing, the
    board is marked for the relay, which repairs rows from the documents.
    """
    gw = gateway()
    first = dict(reads or {})
    key, ikey = task_key(task_id), index_key(board_id)
    index = first.get(ikey) or gw.get(ikey)  # for its size; the row's first attempt starts from it
    history = first.get(history_key(task_id))  # the events it records are handled (``_still_pending``)
    before: list[Task] = []  # the task as the passing attempt read it (whose it was)

    def attempt() -> tuple[Task, list[dict]] | None:
        item = first.pop(key) if key in first else gw.get(key)
        task, document = load_document(board_id, task_id, deleted=restoring, read=item)
        before[:] = [task]
        if not restoring and not _at_version(task, expected_version):
            return None
        changed, events = apply(task)
        check_room(index, task_id, row_of(changed, delete))
        carried = _still_pending(document, history)
        stored = stored_document(changed, carried + [e["event_id"] for e in events], deleted=delete)
        _commit(key, stored, task.etag, events, restoring)
        return changed, events

    done = retry_on_conflict(attempt, "task change")
    if done is None:
        raise Conflict(f"task {task_id} is no longer at version {expected_version}")
    if followed_by_handler(done[1]):
        return done  # its row and "My tasks" entry follow when its event is handled (``follow_handled``)
    if not _write_row(board_id, done[0], delete, index):
        mark_or_owe(board_id)
    my_tasks_followup.follow(None if restoring else before[0], done[0], delete, reads)
    return done


def followed_by_handler(events: list[dict]) -> bool:
    """Whether a committed change leaves its board row and "My tasks" entry to the task-events handler: a
    change of nothing but ``HANDLER_FOLLOWS`` (a checklist change costs the request its read, its commit and its
    publish only). Until handled the list shows the row of the revision before, as while any row is repaired."""
    return bool(events) and all(
        e.get("type") == "task.updated" and e.get("changes") and set(e["changes"]) <= HANDLER_FOLLOWS
        for e in events)


def follow_handled(task: Task) -> None:
    """The row and "My tasks" entry of a committed change that ``followed_by_handler`` left to its event's
    handling, from the task as it is now (rows and entries only replace older ones); if a write keeps losing,
    the board is marked for the relay, which rebuilds both from the documents."""
    if not _write_row(task.board_id, task, False, None):
        mark_pending(task.board_id)  # ``GatewayError``: the event is handled again
    my_tasks_followup.follow(None, task)


def _write_row(board_id: str, task: Task, deleted: bool, index: Item | None) -> bool:
    """A committed task's row into its board's index: through the app's ``ROW_WRITER`` when it has one (a
    shared board's actor takes the writes in turns, ``webapp/boards/actor.py``), else ``put_row``."""
    writer = current_app.extensions.get(ROW_WRITER) or put_row
    return writer(board_id, task, deleted, index)


def change(board_id: str, task_id: str, expected_version: str | None, apply: Change,
           delete: bool = False, read: Reads | None = None) -> tuple[Task, list[dict]]:
    """Store ``apply(task)`` over the board's task if it is at ``expected_version`` (``"*"``: any).

    One transaction writes the task (ETag-guarded), its row in the board's index
    (ETag-guarded) and the change's events (``outbox:<event id>``). ``delete``: store a
    tombstone. ``read``: what the request already read, by key (the task; the index too
    when the access check read it). Returns what ``apply`` made.
    ``Conflict`` when the task is at another version, ``NotFound`` as ``load``.
    """
    return _write(board_id, task_id, apply, read, expected_version=expected_version, delete=delete)


def restore(board_id: str, task_id: str, apply: Change, read: Reads | None = None) -> tuple[Task, list[dict]]:
    """Bring back the board's deleted task as ``apply`` makes it; ``NotFound`` unless its tombstone is there."""
    return _write(board_id, task_id, apply, read, restoring=True)


Note = Callable[[Task], tuple[Task, list[Upsert | Delete], list[dict]]]  # task → (it with new notes, writes, events)


def note(board_id: str, task_id: str, apply: Note, read: Reads | None = None,
         attempts: int = NOTE_ATTEMPTS) -> tuple[Task, list[dict]]:
    """Change what the board's live task keeps beside its fields (its comment ids), at whatever revision it is.

    ``apply(task)`` gives the task with its new notes (its revision unchanged: nothing a client edits moved,
    so no version goes stale and its row stays), the writes of new keys that go with them and the events.
    ONE transaction writes the document (its only guarded write) with those keys and the events' outbox items,
    retried on a conflict (``attempts``: notes of many people at once meet on one document). A write of a
    new key in a lost attempt is rewritten by the next (the same key); ``Conflict`` once attempts run out,
    ``NotFound`` as ``load``; whatever ``apply`` raises passes through.
    """
    gw = gateway()
    first = dict(read or {})
    key = task_key(task_id)
    history = first.get(history_key(task_id))

    def attempt() -> tuple[Task, list[dict]]:
        item = first.pop(key) if key in first else gw.get(key)
        task, document = load_document(board_id, task_id, read=item)
        changed, writes, events = apply(task)
        carried = _still_pending(document, history)
        stored = stored_document(changed, carried + [e["event_id"] for e in events])
        gw.transact([Upsert(key, stored, etag=task.etag), *writes, *outbox_writes(events)])
        return changed, events

    return retry_on_conflict(attempt, "task note", attempts)
