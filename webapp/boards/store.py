"""Where boards and memberships live in Dapr state.

    board:<id>           the board record (``model.py``): name, members with roles; ETag-guarded
    boards-of:<user id>  {"boards": {<board id>: {"role", "name"}}}: the user's memberships, read once
                         by every request that checks a role (``access.py``)
    tasks-of:<board id>  the board's tasks (``webapp/tasks/store.py``); a personal board's id is its
                         user's, so this is the index every user had before boards

**Which record decides.** ``boards-of:<user>`` is what access checks read (one read); the board record
is what membership changes are made against (its ETag serialises them, and it knows the owners). A change
writes both, in the order that never grants more than the board says: a removal or a lower role is taken
from the user's record first, an invitation or a higher role is written there after the board. Whatever
happens, the user's record is then set from the board as saved, so repeating the change repairs it.

A personal board needs no record to be used (its owner is known from its id); its records are written
lazily on the first visit of the boards page, or all at once by ``flask --app wsgi migrate-boards``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from ..auth import users
from ..dapr_gateway import Conflict, Delete, Item, NotFound
from ..sidecar import gateway, retry_on_conflict
from ..tasks import store as task_store
from . import model
from .model import MembershipError


def board_key(board_id: str) -> str:
    return f"board:{board_id}"


def memberships_key(user_id: str) -> str:
    return f"boards-of:{user_id}"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def role_in(memberships: Item | dict | None, user_id: str, board_id: str) -> str | None:
    """The user's role on ``board_id`` from their ``boards-of`` record as read (None: not a member)."""
    if board_id == user_id:
        return "owner"  # their personal board, with or without records
    value = memberships.value if isinstance(memberships, Item) else memberships
    return ((value or {}).get("boards") or {}).get(board_id, {}).get("role")


def memberships(user_id: str) -> dict[str, dict]:
    """The user's boards: {board id: {"role", "name"}}, their personal board first."""
    boards = (gateway().get(memberships_key(user_id)).value or {}).get("boards") or {}
    return {user_id: {"role": "owner", "name": model.PERSONAL_NAME}, **{k: v for k, v in boards.items()
                                                                         if k != user_id}}


def load_board(board_id: str, item: Item | None = None, owner: Item | None = None) -> Item:
    """The board record with its ETag (``item``: as already read); ``NotFound`` if there is none.

    A personal board without a record yet is answered as a record without an ETag, from its
    owner's ``user:<id>`` (``owner``: as already read).
    """
    item = item if item is not None else gateway().get(board_key(board_id))
    if item.exists:
        return item
    if model.is_personal(board_id):
        user = users.load(board_id, owner)  # the owner's name, for the members list
        if user is not None:
            return Item(board_key(board_id), model.personal_board(user.id, user.username, utcnow()), None)
    raise NotFound(board_key(board_id))


def has_personal_records(user_id: str) -> bool:
    """Whether the user's ``boards-of`` record lists their personal board (written last by ``ensure_personal``)."""
    return user_id in ((gateway().get(memberships_key(user_id)).value or {}).get("boards") or {})


def ensure_personal(user_id: str, username: str) -> bool:
    """Write the personal board's records if missing (idempotent); True if anything was written."""
    gw = gateway()
    wrote = False
    try:
        gw.create(board_key(user_id), model.personal_board(user_id, username, utcnow()))
        wrote = True
    except Conflict:
        pass  # already there (an earlier run, or a concurrent first visit)
    wrote |= _set_membership(user_id, user_id, {"role": "owner", "name": model.PERSONAL_NAME})
    return wrote


def _set_membership(user_id: str, board_id: str, entry: dict | None) -> bool:
    """Set (``None``: drop) one board in the user's ``boards-of`` record; True if it changed."""
    gw = gateway()
    key = memberships_key(user_id)

    def attempt() -> bool:
        item = gw.get(key)
        boards = dict((item.value or {}).get("boards") or {})
        if boards.get(board_id) == entry:
            return False
        if entry is None:
            boards.pop(board_id, None)
        else:
            if board_id not in boards and len(boards) >= model.MAX_BOARDS:
                raise MembershipError(f"A person can be on at most {model.MAX_BOARDS} boards.")
            boards[board_id] = entry
        gw.save_versioned(key, {"boards": boards}, item.etag)
        return True

    return retry_on_conflict(attempt, "memberships")


def _entry(board: dict, user_id: str) -> dict | None:
    role = model.role_of(board, user_id)
    return {"role": role, "name": board["name"]} if role else None


def create(user_id: str, username: str, name: str) -> dict:
    """A new board with the user as its owner; ``MembershipError`` for a bad name or too many boards."""
    board = model.new_board(name, user_id, username, utcnow())
    gateway().create(board_key(board["id"]), board)
    try:
        _set_membership(user_id, board["id"], _entry(board, user_id))
    except MembershipError:
        gateway().delete(board_key(board["id"]))
        raise
    return board


def change_membership(board_id: str, user_id: str, change: Callable[[dict], dict],
                      expected_version: str | None = None) -> dict:
    """Apply ``change`` (a ``model`` function of the board) for member ``user_id``; returns the board as saved.

    ``expected_version``: the board's revision the caller saw (``Conflict`` if it moved on; None: any).
    Raises ``MembershipError`` as ``change`` does, ``NotFound`` for a missing board.
    """
    gw = gateway()

    def attempt() -> dict:
        item = load_board(board_id)
        if not _at_version(item, expected_version):
            raise _Stale(board_id)
        changed = change(item.value)
        if model.RANK[model.role_of(changed, user_id)] < model.RANK[model.role_of(item.value, user_id)]:
            _set_membership(user_id, board_id, _entry(changed, user_id))  # take rights away first
        gw.save_versioned(board_key(board_id), changed, item.etag)
        return changed

    try:
        saved = retry_on_conflict(attempt, "board members")
    except _Stale:
        raise Conflict(f"board {board_id} is no longer at version {expected_version}") from None
    except MembershipError:
        _set_membership(user_id, board_id, _entry(load_board(board_id).value, user_id))  # undo a step taken
        raise
    _set_membership(user_id, board_id, _entry(saved, user_id))
    return saved


def _at_version(item: Item, expected_version: str | None) -> bool:
    """The board is at the version the caller saw (None or ``*``: whatever version)."""
    return expected_version in (None, task_store.ANY_VERSION) or str(item.value.get("revision")) == expected_version


class _Stale(Exception):
    """The board changed since the version the caller sent (not retried: the caller must look again)."""


def delete(board_id: str, expected_version: str | None = None) -> None:
    """Delete a shared board that has no tasks left; ``MembershipError`` otherwise, ``Conflict`` if stale."""
    if model.is_personal(board_id):
        raise MembershipError("A personal board cannot be deleted.")
    gw = gateway()
    item = load_board(board_id)
    if not _at_version(item, expected_version):
        raise Conflict(f"board {board_id} is no longer at version {expected_version}")
    if task_store.load_all(board_id):
        raise MembershipError("Delete or complete-and-delete the board's tasks first: a board with tasks "
                              "cannot be deleted.")
    index = gw.get(task_store.index_key(board_id))
    ops = [Delete(board_key(board_id), etag=item.etag)]
    if index.exists:
        ops.append(Delete(index.key, etag=index.etag))
    gw.transact(ops)  # the board is gone: a membership left behind by a failure below opens nothing
    for member in item.value.get("members") or {}:
        _set_membership(member, board_id, None)
