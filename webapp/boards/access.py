"""Authorization is membership: the caller's role on the board a task is on, checked in one read.

A task's page, form, API route and action read the task document and the caller's ``boards-of`` record
together (one bulk get). Someone who is not a member of the task's board gets ``NotFound``, exactly like
for a missing task (nothing tells them it exists); a member whose role does not allow the request gets
``NotAllowed`` (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dapr_gateway import Item, NotFound
from ..sidecar import gateway
from ..tasks import store as task_store
from ..tasks.model import Task
from . import feed, model
from .model import NotAllowed
from .store import board_key, load_board, memberships_key, role_in


@dataclass(frozen=True)
class TaskAccess:
    """A task the caller may see, the board it is on and the caller's role there."""

    task: Task
    board_id: str
    role: str
    item: Item  # the document as read
    reads: dict[str, Item]  # what the check read that a change starts from: the document (and the index)

    @property
    def can_edit(self) -> bool:
        return model.allows(self.role, "edit")


def _check(role: str | None, need: str, missing: str) -> str:
    if role is None:
        raise NotFound(missing)  # not a member: the same answer as for nothing there
    if not model.allows(role, need):
        raise NotAllowed(f"a {role} cannot {need} here")
    return role


def task_access(user_id: str, task_id: str, need: str = "view", deleted: bool = False) -> TaskAccess:
    """The task (``deleted``: its tombstone) if the user's role on its board allows ``need``.

    ``NotFound`` if missing, deleted (or not, for ``deleted``) or on a board the user is not on;
    ``NotAllowed`` if their role does not allow ``need``. For a change (``need`` "edit") the same read
    also takes the user's personal board's index: a change of a task there writes its row with the task
    from what this read (one sidecar call fewer); for a shared board's task the change reads its index.
    """
    if not task_store.valid_id(task_id):
        raise NotFound(task_id)
    keys = [task_store.task_key(task_id), memberships_key(user_id)]
    read = gateway().get_many(keys + ([task_store.index_key(user_id)] if need == "edit" else []))
    item, memberships = read[0], read[1]
    if not item.exists or bool(item.value.get("deleted")) != deleted:
        raise NotFound(item.key)
    board_id = task_store.board_of(item.value)
    role = _check(role_in(memberships, user_id, board_id), need, item.key)
    reads = {item.key: item}
    if len(read) > 2 and board_id == user_id and read[2].exists:
        reads[read[2].key] = read[2]
    return TaskAccess(task_store.task_of(item), board_id, role, item, reads)


def board_role(user_id: str, board_id: str, need: str = "view") -> str:
    """The user's role on the board if it allows ``need``; ``NotFound`` / ``NotAllowed`` as ``task_access``."""
    return membership(user_id, board_id, need)["role"]


def membership(user_id: str, board_id: str, need: str = "view", record: Item | None = None) -> dict:
    """The user's entry for the board ({"role", "name"}) if its role allows ``need`` (personal: no read;
    ``record``: the user's ``boards-of`` record as the caller already read it)."""
    if board_id == user_id:
        return {"role": "owner", "name": model.PERSONAL_NAME}
    if not board_id or len(board_id) > 64:
        raise NotFound(board_id)
    record = record if record is not None else gateway().get(memberships_key(user_id))
    _check(role_in(record, user_id, board_id), need, board_id)
    return record.value["boards"][board_id]


@dataclass(frozen=True)
class BoardRead:
    """A board as its page needs it, read in one call: the record, the caller's role, the tasks index."""

    board: dict
    role: str
    index: dict
    feed: Item  # the board's recent activity and change counter (``feed.py``)


def read_board(user_id: str, board_id: str, need: str = "view") -> BoardRead:
    """The board, the user's role and its tasks index (one bulk get), if the role allows ``need``."""
    if not board_id or len(board_id) > 64:
        raise NotFound(board_id)
    memberships, board, index, changes = gateway().get_many(
        [memberships_key(user_id), board_key(board_id), task_store.index_key(board_id), feed.feed_key(board_id)])
    role = _check(role_in(memberships, user_id, board_id), need, board_id)
    record = load_board(board_id, board)  # NotFound if deleted meanwhile
    return BoardRead(record.value, role, index.value or {}, changes)


def board_changes(user_id: str, board_id: str) -> Item:
    """The board's feed (its change counter) if the user may view the board: one read, the membership with it."""
    if not board_id or len(board_id) > 64:
        raise NotFound(board_id)
    memberships, changes = gateway().get_many([memberships_key(user_id), feed.feed_key(board_id)])
    _check(role_in(memberships, user_id, board_id), "view", board_id)
    return changes


def is_member(board: dict, user_id: str | None) -> bool:
    """Whether ``user_id`` is on the board (its record as read): who a task may be assigned to."""
    return bool(user_id) and user_id in (board.get("members") or {})


def board_item(user_id: str, board_id: str, need: str = "view") -> tuple[Item, str]:
    """The board record with its ETag and the user's role, if it allows ``need`` (two reads)."""
    role = board_role(user_id, board_id, need)
    return load_board(board_id), role
