"""Boards as values: roles, what each allows, membership changes, the board view's columns. No I/O.

A board record (``board:<id>``) is ``{"id", "name", "personal", "members": {<user id>: {"role", "username"}},
"revision", "created_at"}``, plus ``"closing": true`` while it is being deleted and ``"deleted": true`` once it
is (``deletion.py``): either way it is answered as missing. A user's personal board has the user's id and only
them as its owner; a board someone creates has an id ``b_<hex>`` (never a user id: user ids are hex only).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ..tasks.fields import BY_NAME
from ..tasks.model import PRIORITY_RANK

ROLES = ("owner", "editor", "viewer")
ROLE_LABELS = {"owner": "Owner", "editor": "Editor", "viewer": "Viewer"}
ROLE_HELP = {"owner": "also manages members", "editor": "changes tasks", "viewer": "reads only"}
# What each kind of request needs: reading the board and its tasks, changing tasks, managing the board.
ALLOWED = {"view": set(ROLES), "edit": {"owner", "editor"}, "manage": {"owner"}}
RANK = {"owner": 3, "editor": 2, "viewer": 1, None: 0}
SHARED_PREFIX = "b_"
PERSONAL_NAME = "Personal"
NAME_MAX = 80
MAX_MEMBERS = 50  # per board: the record stays small (~5 kB), and so does the members page
MAX_BOARDS = 100  # per user: the ``boards-of`` record read on every request that checks a role
COLUMNS = BY_NAME["status"].choices  # the board view's columns: (status, label)
# A card's moves by its column: (status, label, arrow) of every other column, the arrow pointing to where it is.
MOVES = {current: tuple((status, label, "←" if at < here else "→") for at, (status, label) in enumerate(COLUMNS)
                        if status != current) for here, (current, _) in enumerate(COLUMNS)}
COLUMN_LIMIT = 50  # cards shown per column (the page stays near the list's cost); the rest: a link to the list


class NotAllowed(PermissionError):
    """The caller's role on the board does not allow this (a viewer changing a task): 403."""


class MembershipError(ValueError):
    """A membership change that cannot be made (the last owner leaving, a full board): 422 with the reason."""


def new_board_id() -> str:
    return f"{SHARED_PREFIX}{uuid.uuid4().hex}"


def is_personal(board_id: str) -> bool:
    """A user's personal board (its id is the user's)."""
    return not board_id.startswith(SHARED_PREFIX)


def allows(role: str | None, need: str) -> bool:
    """Whether ``role`` (None: not a member) may do what ``need`` names (view, edit, manage)."""
    return role in ALLOWED[need]


def personal_board(user_id: str, username: str, now: datetime) -> dict:
    """The record of a user's personal board."""
    return {"id": user_id, "name": PERSONAL_NAME, "personal": True, "revision": 1, "created_at": now.isoformat(),
            "members": {user_id: {"role": "owner", "username": username}}}


def new_board(name: str, owner_id: str, owner_name: str, now: datetime) -> dict:
    """A board someone creates: they are its first owner."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise MembershipError(f"Give the board a name of at most {NAME_MAX} characters.")
    return {"id": new_board_id(), "name": name, "personal": False, "revision": 1, "created_at": now.isoformat(),
            "members": {owner_id: {"role": "owner", "username": owner_name}}}


def is_open(board: dict | None) -> bool:
    """A board in use: not being deleted, not deleted (``None``: no record)."""
    return board is not None and not board.get("closing") and not board.get("deleted")


def closing(board: dict, now: datetime | None = None) -> dict:
    """``board`` marked as being deleted (since ``now``): from this write on it is answered as missing."""
    since = {"closing_since": now.isoformat()} if now else {}
    return {**board, "closing": True, **since, "revision": int(board.get("revision") or 0) + 1}


def reopened(board: dict) -> dict:
    """``board`` back in use (a deletion that found live tasks)."""
    return {**{k: v for k, v in board.items() if k not in ("closing", "closing_since")},
            "revision": int(board.get("revision") or 0) + 1}


def deletion_stalled(board: dict | None, now: datetime, after_seconds: float) -> bool:
    """Whether ``board`` has been closing for longer than ``after_seconds`` (a deletion that stopped half-way;
    a mark without its time counts as old)."""
    if not board or not board.get("closing") or board.get("deleted"):
        return False
    since = board.get("closing_since")
    return not since or (now - datetime.fromisoformat(since)).total_seconds() > after_seconds


def deleted(board: dict) -> dict:
    """What stays of a deleted board: its id, name and members (for repairs) and the mark."""
    return {"id": board["id"], "name": board.get("name"), "members": board.get("members") or {}, "deleted": True,
            "revision": int(board.get("revision") or 0) + 1}


def lower(*roles: str | None) -> str | None:
    """The least of the roles (None: no role at all)."""
    return min(roles, key=lambda role: RANK[role])


def role_of(board: dict, user_id: str) -> str | None:
    return (board.get("members") or {}).get(user_id, {}).get("role")


def owners(board: dict) -> list[str]:
    return [uid for uid, member in (board.get("members") or {}).items() if member.get("role") == "owner"]


def _changed(board: dict, members: dict) -> dict:
    return {**board, "members": members, "revision": int(board.get("revision") or 0) + 1}


def with_member(board: dict, user_id: str, username: str, role: str) -> dict:
    """``board`` with a new member; ``MembershipError`` if they already are one, or the board is full."""
    _check_shared(board)
    if role not in ROLES:
        raise MembershipError(f"Choose a role: {', '.join(ROLES)}.")
    members = dict(board.get("members") or {})
    if user_id in members:
        raise MembershipError(f"{username} is already a member ({members[user_id]['role']}).")
    if len(members) >= MAX_MEMBERS:
        raise MembershipError(f"A board has at most {MAX_MEMBERS} members.")
    return _changed(board, {**members, user_id: {"role": role, "username": username}})


def with_role(board: dict, user_id: str, role: str) -> dict:
    """``board`` with a member's new role; ``MembershipError`` for the last owner stepping down."""
    _check_shared(board)
    if role not in ROLES:
        raise MembershipError(f"Choose a role: {', '.join(ROLES)}.")
    members = dict(board.get("members") or {})
    if user_id not in members:
        raise MembershipError("Not a member of this board.")
    if role != "owner" and owners(board) == [user_id]:
        raise MembershipError("The board needs an owner: make someone else owner first.")
    return _changed(board, {**members, user_id: {**members[user_id], "role": role}})


def without_member(board: dict, user_id: str) -> dict:
    """``board`` without a member (removed, or leaving); ``MembershipError`` for its last owner."""
    _check_shared(board)
    members = dict(board.get("members") or {})
    if user_id not in members:
        raise MembershipError("Not a member of this board.")
    if owners(board) == [user_id]:
        raise MembershipError("The last owner cannot leave: make someone else owner first, or delete the board.")
    members.pop(user_id)
    return _changed(board, members)


def _check_shared(board: dict) -> None:
    if board.get("personal"):
        raise MembershipError("A personal board is yours alone: create a board to share tasks.")


@dataclass(frozen=True)
class Column:
    """One column of the board view: its status, its cards (list rows) in order, and how many there are."""

    status: str
    label: str
    cards: list
    total: int


def card_order(card) -> tuple:
    """High priority first, then the earliest due date (undated last), then title."""
    due = card.due_at.replace(tzinfo=None) if card.due_at else datetime.max
    return PRIORITY_RANK.get(card.priority, 9), card.due_at is None, due, card.title.lower()


def columns(cards: list, limit: int = COLUMN_LIMIT) -> list[Column]:
    """The board's cards (``rows.Summary``) by status, in ``card_order``; at most ``limit`` shown per column."""
    result = []
    for status, label in COLUMNS:
        mine = sorted((c for c in cards if c.status == status), key=card_order)
        result.append(Column(status, label, mine[:limit], len(mine)))
    return result
