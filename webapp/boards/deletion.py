"""Deleting a board, in an order that holds whatever runs at the same time.

On Redis the only atomic step is a single-key ETag-guarded write: a transaction keeps the parts whose ETag
matched, and a write with an ETag on a key that is gone succeeds (it creates the key). So a deletion never
deletes what a concurrent writer may hold an ETag of: it marks the board record (``closing``, then
``deleted``) and leaves the board's index closed (``CLOSED_INDEX``, which ``tasks.index.index_to_change``
refuses), both for ``DELETED_TTL_SECONDS``. Access checks answer a board that is not open as missing
(``access.py``), task creation reads the board record (its access check) and the index (its write).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from ..dapr_gateway import Conflict, NotFound, Unavailable
from ..keys import board_key, index_key, task_key
from ..sidecar import gateway, retry_on_conflict
from ..tasks import store as task_store
from ..tasks.outbox import relay_items
from . import model, store
from .model import MembershipError

# What stays of a deleted board (its record, its closed index) outlives every request holding their ETags and
# every event of its tasks (outbox items live 30 days).
DELETED_TTL_SECONDS = 31 * 86400
# A board closing for longer than any request runs (gunicorn's timeout is 30 s) is a deletion that stopped half-way.
STALLED_DELETION_SECONDS = 90

log = logging.getLogger(__name__)


class EventsNotOut(Unavailable):
    """The board's deleted tasks' last events could not be published yet (the broker is down)."""

CLOSED_INDEX = {"ids": [], "rows": {}, "closed": True}


def delete(board_id: str, expected_version: str | None = None) -> None:
    """Delete a shared board that has no live tasks: no member keeps access, no task or index is left on it.

    In an order that holds whatever runs at the same time (a Redis transaction keeps the parts whose ETag
    matched, so only single-key ETag-guarded writes fence): 1. the board record is marked ``closing`` (access
    checks and task creation answer it as missing from then on); 2. its index is read, its tasks checked
    (live ones: the mark is undone and ``MembershipError`` raised), the tombstones' pending events published
    (their handlers delete their jobs; not possible yet: the mark is undone and ``EventsNotOut`` raised), the
    tombstones taken off the board (no undo can bring one back) and their remains cleared (history, watchers,
    comments: overwritten with expiring "gone" values, ``keys.GONE_TTL_SECONDS``), and the index closed with the
    ETag read — a task written meanwhile makes that fail and step 2 run again;
    3. every member's record but the owners' drops the board; 4. the record is marked ``deleted``; 5. the owners'
    records drop it. A deletion that stopped before 4 leaves the board ``closing``, reachable by no one but its
    owners' repeated deletion (or the sweep's, ``finish_stalled``), both of which find it through an owner's
    record; one that stopped after 4 leaves an owner's entry of a deleted board, which the sweep drops.
    Raises ``MembershipError`` (a personal board, live tasks), ``Conflict`` if stale, ``NotFound``, and
    ``Unavailable`` (``EventsNotOut`` while its deleted tasks' last events cannot be published: the board is
    reopened, as after ``MembershipError``).
    """
    if model.is_personal(board_id):
        raise MembershipError("A personal board cannot be deleted.")
    others, owners = _close(board_id, expected_version)
    try:
        retry_on_conflict(lambda: _close_index(board_id), "board deletion")
    except (MembershipError, Conflict, EventsNotOut):
        _reopen(board_id)  # nothing was taken off the board yet: it is back in use as it was
        raise
    for member in others:
        store.set_membership(member, board_id, None)
    _mark(board_id, model.deleted, ttl_seconds=DELETED_TTL_SECONDS)
    for owner in owners:
        store.set_membership(owner, board_id, None)


def drop_lingering_entry(user_id: str, board_id: str) -> bool:
    """Drop an owner's entry of a board whose deletion stopped after marking it ``deleted`` (the sweep's part);
    True if it was there. ``GatewayError`` as ``store.set_membership``."""
    return store.set_membership(user_id, board_id, None)


def finish_stalled(board_id: str) -> str:
    """Carry on a deletion that stopped half-way (the sweep's part, for boards closing past
    ``STALLED_DELETION_SECONDS``): finished when the board has no live task, undone (the board reopened) when a
    task was created on it meanwhile. Returns ``"deleted"``, ``"reopened"`` or ``"closing"`` (still unable to go
    on: the next sweep tries again); raises nothing."""
    try:
        delete(board_id)
    except MembershipError:
        log.warning("board %s: a stalled deletion found live tasks; the board is open again", board_id)
        return "reopened"
    except (Conflict, Unavailable, NotFound) as err:
        log.warning("board %s: a stalled deletion could not go on yet: %s", board_id, err)
        return "closing"
    log.warning("board %s: a stalled deletion was finished", board_id)
    return "deleted"


def _close(board_id: str, expected_version: str | None) -> tuple[list[str], list[str]]:
    """Mark the board ``closing`` (one ETag-guarded write; already marked: a deletion that stopped half-way,
    carried on); returns its members who are not owners, and its owners (who can repeat the deletion: their
    entries go last). ``NotFound`` if it is gone."""
    gw = gateway()

    def attempt() -> tuple[list[str], list[str]]:
        item = gw.get(board_key(board_id))
        if not (item.exists and item.value.get("closing")):
            item = store.load_board(board_id, item)
            if not store.at_version(item, expected_version):
                raise store.Stale(board_id)
            gw.save_versioned(item.key, model.closing(item.value, datetime.now(timezone.utc)), item.etag)
        members = item.value.get("members") or {}
        owners = [m for m in members if members[m].get("role") == "owner"]
        return [m for m in members if m not in owners], owners

    try:
        return retry_on_conflict(attempt, "board deletion")
    except store.Stale:
        raise Conflict(f"board {board_id} is no longer at version {expected_version}") from None


def _close_index(board_id: str) -> None:
    """Close the board's index if it lists no live task (``MembershipError`` if it does); ``Conflict`` if it
    changed since it was read. Its tombstones are taken off the board first, each at the version read, and
    what they leave beside their documents deleted (also of those an earlier, stopped run took off)."""
    gw = gateway()
    index = gw.get(index_key(board_id))
    ids = (index.value or {}).get("ids") or []
    listed = gw.get_many([task_key(i) for i in ids])
    tasks = [it for it in listed if task_store.owned(it, board_id)]
    if any(not it.value.get("deleted") for it in tasks):
        raise MembershipError("Delete or complete-and-delete the board's tasks first: a board with tasks "
                              "cannot be deleted.")
    if relay_items(tasks)[1]:
        # Once detached, no index lists these tombstones: neither the relay nor the sweep would find their
        # events again. The board is reopened; the deletion can be repeated once the broker is back.
        raise EventsNotOut(f"board {board_id}: its deleted tasks' last events are not out yet")
    detached = detached_from(board_id)
    for it in tasks:  # one guarded save each: in a transaction Redis would set the TTL even if the guard failed
        gw.save(it.key, {**it.value, "board_id": detached}, etag=it.etag, ttl_seconds=task_store.UNDO_SECONDS)
    # Their remains are cleared while the index still lists them: a deletion that stopped here finds them again.
    task_store.clear_remains(tasks + [it for it in listed if task_store.owned(it, detached)])
    gw.save_versioned(index.key, CLOSED_INDEX, index.etag, ttl_seconds=DELETED_TTL_SECONDS)


def detached_from(board_id: str) -> str:
    """The ``board_id`` of a tombstone taken off the board by its deletion."""
    return f"{board_id}:deleted"


def _reopen(board_id: str) -> None:
    """Undo the ``closing`` mark of a deletion that could not go on."""
    _mark(board_id, model.reopened, only_closing=True)


def _mark(board_id: str, change: Callable[[dict], dict], ttl_seconds: int | None = None,
          only_closing: bool = False) -> None:
    """Write ``change`` of the board record at the ETag read (retried); nothing if it is gone (or not closing)."""
    gw = gateway()

    def attempt() -> None:
        item = gw.get(board_key(board_id))
        if not item.exists or item.value.get("deleted") or (only_closing and not item.value.get("closing")):
            return
        gw.save_versioned(item.key, change(item.value), item.etag, ttl_seconds=ttl_seconds)

    retry_on_conflict(attempt, "board deletion")
