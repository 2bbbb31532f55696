"""Where boards and memberships live in Dapr state.

    board:<id>           the board record (``model.py``): name, members with roles; ETag-guarded. While it
                         is deleted it says ``closing``, then ``deleted`` (``deletion.py``)
    boards-of:<user id>  {"boards": {<board id>: {"role", "name"}}}: the user's memberships, read once
                         by every request that checks a role (``access.py``)
    tasks-of:<board id>  the board's tasks (``webapp/tasks/store.py``); a personal board's id is its
                         user's, so this is also ``tasks-of:<user id>``. A deleted board's
                         is left closed (``deletion.py``)

**Which record decides.** The board record is the truth: membership changes are made against it (its ETag
serialises them, and it knows the owners). ``boards-of:<user>`` lists the user's boards and counts them
against ``MAX_BOARDS``; access checks read both and grant the LOWER of the two roles (``access.py``), so a
member is someone both records name. A change writes both, in the order that never grants more than before
or after: a removal or a lower role is taken from the user's record first, an invitation or a higher role
is written there after the board; an invitation the user's record cannot take (their limit) is refused before
the board is written, or taken off the board again if the limit was reached meanwhile. The user's record is
then set from the board as stored (``sync_membership``), so repeating a change repairs it.

A personal board needs no record to be used (its owner is known from its id); its records are written
lazily on the first visit of the boards page, or all at once by ``flask --app wsgi migrate-boards``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from ..auth import users
from ..dapr_gateway import Conflict, Item, NotFound
from ..keys import board_key, memberships_key
from ..my_tasks import index as my_tasks
from ..sidecar import gateway, retry_on_conflict
from ..tasks import store as task_store
from . import model
from .model import MembershipError


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
    """The board record with its ETag (``item``: as already read); ``NotFound`` if there is none, or it is
    being deleted or deleted.

    A personal board without a record yet is answered as a record without an ETag, from its
    owner's ``user:<id>`` (``owner``: as already read).
    """
    item = item if item is not None else gateway().get(board_key(board_id))
    if item.exists:
        if not model.is_open(item.value):
            raise NotFound(item.key)
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
    wrote |= set_membership(user_id, user_id, {"role": "owner", "name": model.PERSONAL_NAME})
    return wrote


def set_membership(user_id: str, board_id: str, entry: dict | None) -> bool:
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
            if _full(boards, user_id, board_id):
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
        set_membership(user_id, board["id"], _entry(board, user_id))
    except MembershipError:
        gateway().delete(board_key(board["id"]))
        raise
    return board


def change_membership(board_id: str, user_id: str, change: Callable[[dict], dict],
                      expected_version: str | None = None) -> dict:
    """Apply ``change`` (a ``model`` function of the board) for member ``user_id``; returns the board as saved.

    ``expected_version``: the board's revision the caller saw (``Conflict`` if it moved on; None: any).
    Raises ``MembershipError`` as ``change`` does, or when the user is on ``MAX_BOARDS`` boards already;
    ``NotFound`` for a missing (or deleted) board.
    """
    gw = gateway()

    def attempt() -> dict:
        item = load_board(board_id)
        if not at_version(item, expected_version):
            raise Stale(board_id)
        changed = change(item.value)
        before, after = model.role_of(item.value, user_id), model.role_of(changed, user_id)
        if model.RANK[after] < model.RANK[before]:
            set_membership(user_id, board_id, _entry(changed, user_id))  # take rights away first
        elif before is None and after is not None:
            _check_room(user_id, board_id)  # refused before the board names them: nothing to undo
        gw.save_versioned(board_key(board_id), changed, item.etag)
        return changed

    try:
        saved = retry_on_conflict(attempt, "board members")
    except (Stale, MembershipError, Conflict) as err:
        _repair(user_id, board_id)  # a right an earlier attempt took away first, given back as the board says
        if isinstance(err, Stale):
            raise Conflict(f"board {board_id} is no longer at version {expected_version}") from None
        raise
    try:
        sync_membership(user_id, board_id)
    except MembershipError:
        _take_off(board_id, user_id)  # their limit was reached since the check: the board lets them go again
        raise
    if model.role_of(saved, user_id) is None:
        my_tasks.forget_board(user_id, board_id)  # off the board: its tasks leave their "My tasks" too
    return saved


def _check_room(user_id: str, board_id: str) -> None:
    """``MembershipError`` if the user is on ``MAX_BOARDS`` boards already (not counting this one)."""
    boards = (gateway().get(memberships_key(user_id)).value or {}).get("boards") or {}
    if _full(boards, user_id, board_id):
        raise MembershipError(f"A person can be on at most {model.MAX_BOARDS} boards; this one is on as many.")


def _full(boards: dict, user_id: str, board_id: str) -> bool:
    """Whether adding ``board_id`` to the user's boards (as read) would pass ``MAX_BOARDS`` (their personal
    board is always let in: it is theirs before any other)."""
    return board_id not in boards and board_id != user_id and len(boards) >= model.MAX_BOARDS


def sync_membership(user_id: str, board_id: str) -> bool:
    """Set the user's entry for the board from the board record as stored now; True if it changed.

    The user's record is read BEFORE the board and written with its ETag: a sync that read the board before
    another sync wrote conflicts and reads both again, so the last write made is from the board's last state.
    A board being deleted is left to its deletion. ``MembershipError`` if the entry would be one too many.
    """
    gw = gateway()
    key = memberships_key(user_id)

    def attempt() -> bool:
        item = gw.get(key)
        board = gw.get(board_key(board_id))
        if board.exists and board.value.get("closing"):
            return False
        entry = _entry(board.value, user_id) if board.exists and model.is_open(board.value) else None
        boards = dict((item.value or {}).get("boards") or {})
        if boards.get(board_id) == entry:
            return False
        if entry is None:
            boards.pop(board_id, None)
        elif _full(boards, user_id, board_id):
            raise MembershipError(f"A person can be on at most {model.MAX_BOARDS} boards.")
        else:
            boards[board_id] = entry
        gw.save_versioned(key, {"boards": boards}, item.etag)
        return True

    return retry_on_conflict(attempt, "memberships")


def _repair(user_id: str, board_id: str) -> None:
    """The user's entry as the board says, after a refused change (never adding one past their limit)."""
    try:
        sync_membership(user_id, board_id)
    except MembershipError:
        pass  # not on the board's record's side either: nothing grants them anything


def _take_off(board_id: str, user_id: str) -> None:
    """Take a member off the board record again (an invitation their own record could not take)."""
    gw = gateway()

    def attempt() -> None:
        item = gw.get(board_key(board_id))
        members = dict((item.value or {}).get("members") or {})
        if not item.exists or user_id not in members:
            return
        members.pop(user_id)
        gw.save_versioned(item.key, {**item.value, "members": members,
                                     "revision": int(item.value.get("revision") or 0) + 1}, item.etag)

    retry_on_conflict(attempt, "board members")


def at_version(item: Item, expected_version: str | None) -> bool:
    """The board is at the version the caller saw (None or ``*``: whatever version)."""
    return expected_version in (None, task_store.ANY_VERSION) or str(item.value.get("revision")) == expected_version


class Stale(Exception):
    """The board changed since the version the caller sent (not retried: the caller must look again)."""


def forget_gone(user_id: str, board_ids: list[str]) -> None:
    """Drop from the user's record the boards that are deleted or gone (a deletion that stopped half-way)."""
    for board_id in board_ids:
        sync_membership(user_id, board_id)
