"""Rebuilding "My tasks" entries from the task documents: the relay's and the sweep's part (``index.py``).

Given boards with their documents as the caller already read them, one bulk read takes the shared boards'
records (who is on them) and every member's ``my-tasks`` index, and each index that differs from the
documents gets one guarded write. Nothing is written when everything matches.
"""

from __future__ import annotations

from ..boards import model as boards_model
from ..dapr_gateway import Item
from ..sidecar import gateway
from ..keys import board_key, index_key, my_tasks_key, task_id_of, task_key
from ..tasks.store import owned, task_of
from . import entries, index


def reconcile(boards: dict[str, tuple[list[str], list[Item]]],
              memberships: dict[str, dict | None] | None = None, read: dict[str, Item] | None = None) -> int:
    """Repair the entries of ``boards`` ({board id: (the ids its index listed, its documents as read)}) in
    every member's index, and drop, for the people in ``memberships`` ({user id: their ``boards-of`` value}),
    entries of boards they are no longer on (``read``: items the caller already read, by key: not read again).
    Returns how many indexes needed a write."""
    gw = gateway()
    known = dict(read or {})
    shared = [b for b in boards if not boards_model.is_personal(b)]
    records = dict(zip(shared, gw.get_many([board_key(b) for b in shared]))) if shared else {}
    members = {b: _members(b, records.get(b)) for b in boards}
    people = list(dict.fromkeys([m for ms in members.values() for m in ms] + list(memberships or {})))
    missing = [my_tasks_key(p) for p in people if my_tasks_key(p) not in known]
    known.update({it.key: it for it in (gw.get_many(missing) if missing else [])})
    current = {p: known[my_tasks_key(p)] for p in people}
    values = {p: item.value for p, item in current.items()}
    wanted: dict[str, dict] = {p: {} for p in people}
    for board_id, (listed, items) in boards.items():
        tasks = {task_id_of(it.key): (task_of(it), bool(it.value.get("deleted"))) for it in items}
        for member, changes in index.board_changes(board_id, listed, tasks, members[board_id], values).items():
            wanted[member].update(changes)
    for person, value in (memberships or {}).items():
        on = {person, *(((value or {}).get("boards") or {}).keys())}
        wanted[person].update(index.outside(values.get(person), on))
    written = 0
    for person, changes in wanted.items():
        if changes and entries.merged(values.get(person), changes, repair=True) is not None:
            index.write_repairs(person, changes, current.get(person))
            written += 1
    return written


def _members(board_id: str, record: Item | None) -> list[str]:
    """Who is on the board (a personal board: its owner; a board being deleted or gone: nobody)."""
    if boards_model.is_personal(board_id):
        return [board_id]
    if record is None or not record.exists or not boards_model.is_open(record.value):
        return []
    return list((record.value.get("members") or {}).keys())


def reconcile_board(board_id: str) -> int:
    """``reconcile`` for one board, reading its index and documents first (the relay's part)."""
    ids = (gateway().get(index_key(board_id)).value or {}).get("ids", [])
    items = [it for it in gateway().get_many([task_key(i) for i in ids]) if owned(it, board_id)]
    return reconcile({board_id: (ids, items)})
