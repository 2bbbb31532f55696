"""Authorization is membership: the caller's role on the board a task is on.

The role is the LOWER of what the caller's ``boards-of`` record and the board record say (``store.py``: the
writes of a membership change are ordered so that this never grants more than before or after the change,
whatever runs at the same time), and a board being deleted or deleted has no members. A task's page, form,
API route and action read the task document and the caller's ``boards-of`` record together (one bulk get),
then, for a shared board's task, the board record (with whatever the page reads next: ``also``). Someone who
is not a member of the task's board gets ``NotFound``, exactly like for a missing task (nothing tells them it
exists); a member whose role does not allow the request gets ``NotAllowed`` (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..dapr_gateway import Item, NotFound
from ..accounts import sessions
from ..keys import (board_key, feed_key, history_key, inbox_key, index_key, memberships_key, my_tasks_key,
                    task_key, user_key)
from ..sidecar import gateway
from ..tasks import store as task_store
from ..tasks.model import Task
from . import feed, model
from .model import NotAllowed
from .store import load_board, role_in


@dataclass(frozen=True)
class TaskAccess:
    """A task the caller may see, the board it is on and the caller's role there."""

    task: Task
    board_id: str
    role: str
    item: Item  # the document as read
    reads: dict[str, Item]  # what the check read that a change starts from: the document (and the index)
    extra: dict[str, Item] = field(default_factory=dict)  # the board record (shared boards) and ``also``, by key

    @property
    def can_edit(self) -> bool:
        return model.allows(self.role, "edit")


def _check(role: str | None, need: str, missing: str) -> str:
    if role is None:
        raise NotFound(missing)  # not a member: the same answer as for nothing there
    if not model.allows(role, need):
        raise NotAllowed(f"a {role} cannot {need} here")
    return role


def effective_role(memberships: Item | None, board: Item | None, user_id: str, board_id: str,
                   closing: bool = False) -> str | None:
    """The user's role on the board from their ``boards-of`` record and the board record as read: the lower of
    the two; None if either does not name them or the board is deleted or being deleted (``closing``: a board
    being deleted still counts, for its owners to finish the deletion). Their personal board: owner."""
    if board_id == user_id:
        return "owner"
    listed = role_in(memberships, user_id, board_id)
    if listed is None or board is None or not board.exists:
        return None
    if not model.is_open(board.value) and not (closing and not board.value.get("deleted")):
        return None
    return model.lower(listed, model.role_of(board.value, user_id))


def task_access(user_id: str, task_id: str, need: str = "view", deleted: bool = False,
                also: Callable[[str], list[str]] | None = None, board_hint: str | None = None,
                indexed: bool = True, checks_session: bool = False,
                known: dict[str, Item] | None = None) -> TaskAccess:
    """The task (``deleted``: its tombstone) if the user's role on its board allows ``need``.

    ``NotFound`` if missing, deleted (or not, for ``deleted``) or on a board the user is not on;
    ``NotAllowed`` if their role does not allow ``need``. A shared board's task costs a second read, of the
    board record; ``also(board_id)`` names keys the caller needs next, read with it (or alone, for a personal
    board's task) into ``extra``. ``board_hint``: the board the caller expects the task on (a page's form
    says it): its record and ``also`` are read with the task, in one call, and again only if the task is
    elsewhere. For a change (``need`` "edit", unless not ``indexed``) the board's index is read too (the
    personal board's with the task, a shared board's with its record): the change writes the task's row
    from what these reads found (``reads``), without reading again. ``checks_session``: the account record is
    read too and the session's generation checked (``accounts.sessions.check_read``) — no call of its own.
    ``known``: what the request already read, by key; when it holds the task, its board is known and the rest is
    one read (none for a personal board's task that needs nothing more).
    """
    if not task_store.valid_id(task_id):
        raise NotFound(task_id)
    indexed = indexed and need == "edit"

    def wanted(board_id: str) -> list[str]:
        shared = board_id != user_id
        return list(dict.fromkeys(([board_key(board_id)] if shared else []) + (also(board_id) if also else [])
                                  + ([index_key(board_id)] if shared and indexed else [])))

    # A change also writes the caller's "My tasks" entry (most changes are of the caller's own tasks), and
    # carries over from the document only the events its history does not show handled.
    changing = [history_key(task_id)] if need == "edit" else []
    keys = [task_key(task_id), memberships_key(user_id)] + (
        [index_key(user_id), my_tasks_key(user_id)] if indexed else []) + changing + (
        [user_key(user_id)] if checks_session else [])
    held = (known or {}).get(task_key(task_id))
    if held is not None:  # its board is known: what it needs is read with the rest
        if not held.exists:
            raise NotFound(held.key)
        board_hint = task_store.board_of(held.value)
    guessed = wanted(board_hint) if board_hint and len(board_hint) <= 64 else []
    if held is not None:
        personal = board_hint == user_id  # no membership to check
        rest = [k for k in keys[1:] + guessed if not (personal and k == memberships_key(user_id))]
        by_key = {held.key: held, **{it.key: it for it in gateway().get_many(rest)}}
        read = [by_key.get(k, Item(k, None, None)) for k in keys + guessed]
    else:
        read = gateway().get_many(keys + guessed)
    item, memberships = read[0], read[1]
    if checks_session:  # the session's generation, read with the task (the endpoint is in CHECKS_ITSELF)
        sessions.check_read(user_id, read[len(keys) - 1])
    if not item.exists or bool(item.value.get("deleted")) != deleted:
        raise NotFound(item.key)
    board_id = task_store.board_of(item.value)
    shared = board_id != user_id
    if shared and role_in(memberships, user_id, board_id) is None:
        raise NotFound(item.key)  # not a member: no further read
    if guessed and board_id == board_hint:
        extra = {it.key: it for it in read[len(keys):]}
    else:
        extra = {it.key: it for it in gateway().get_many(wanted(board_id))} if wanted(board_id) else {}
    role = _check(effective_role(memberships, extra.get(board_key(board_id)), user_id, board_id), need, item.key)
    reads = {it.key: it for it in read[:len(keys)] if it.key in (item.key, my_tasks_key(user_id), *changing)}
    index = read[2] if indexed and not shared else extra.get(index_key(board_id))
    if index is not None and index.exists:
        reads[index.key] = index
    return TaskAccess(task_store.task_of(item), board_id, role, item, reads, extra)


def board_role(user_id: str, board_id: str, need: str = "view") -> str:
    """The user's role on the board if it allows ``need``; ``NotFound`` / ``NotAllowed`` as ``task_access``."""
    return membership(user_id, board_id, need)["role"]


def membership(user_id: str, board_id: str, need: str = "view", records: tuple[Item, Item] | None = None) -> dict:
    """The user's role and the board's name ({"role", "name"}) if the role allows ``need`` (personal: no read;
    ``records``: the user's ``boards-of`` record and the board record as the caller already read them)."""
    if board_id == user_id:
        return {"role": "owner", "name": model.PERSONAL_NAME}
    if not board_id or len(board_id) > 64:
        raise NotFound(board_id)
    memberships, board = records or gateway().get_many([memberships_key(user_id), board_key(board_id)])
    role = _check(effective_role(memberships, board, user_id, board_id), need, board_id)
    return {"role": role, "name": board.value["name"]}


@dataclass(frozen=True)
class BoardRead:
    """A board as its page needs it, read in one call: the record, the caller's role, the tasks index."""

    board: dict
    role: str
    index: dict
    feed: Item  # the board's recent activity and change counter (``feed.py``)
    inbox_head: Item  # the caller's inbox head, for the navigation badge


def read_board(user_id: str, board_id: str, need: str = "view") -> BoardRead:
    """The board, the user's role, its tasks index, the caller's inbox head (one bulk get, which also checks the
    session's generation: ``SignedOut``), if the role allows ``need``."""
    if not board_id or len(board_id) > 64:
        raise NotFound(board_id)
    memberships, board, index, changes, account, head = gateway().get_many(
        [memberships_key(user_id), board_key(board_id), index_key(board_id), feed_key(board_id), user_key(user_id),
         inbox_key(user_id)], shared=(index_key(board_id), feed_key(board_id)))  # only read: decoded once a version
    sessions.check_read(user_id, account)
    role = _check(effective_role(memberships, board, user_id, board_id), need, board_id)
    record = load_board(board_id, board)  # a personal board without a record yet: from its owner
    return BoardRead(record.value, role, index.value or {}, changes, head)


def board_changes(user_id: str, board_id: str, checks_session: bool = False) -> Item:
    """The board's feed (its change counter) if the user may view the board: one read, the membership with it.

    ``NotFound`` / ``NotAllowed`` as ``task_access``; ``checks_session``: the account record is read too and the
    session's generation checked first (``accounts.sessions.check_read``, ``SignedOut``) — no call of its own.
    """
    if not board_id or len(board_id) > 64:
        raise NotFound(board_id)
    shared = board_id != user_id
    memberships, changes, *rest = gateway().get_many(
        [memberships_key(user_id), feed_key(board_id), *([board_key(board_id)] if shared else []),
         *([user_key(user_id)] if checks_session else [])], shared=(feed_key(board_id),))  # the feed: only read
    if checks_session:  # the endpoint is in CHECKS_ITSELF
        sessions.check_read(user_id, rest.pop())
    board = rest
    _check(effective_role(memberships, board[0] if board else None, user_id, board_id), "view", board_id)
    return changes


def is_member(board: dict, user_id: str | None) -> bool:
    """Whether ``user_id`` is on the board (its record as read): who a task may be assigned to."""
    return bool(user_id) and user_id in (board.get("members") or {})


def board_item(user_id: str, board_id: str, need: str = "view", closing: bool = False) -> tuple[Item, str]:
    """The board record with its ETag and the user's role, if it allows ``need`` (one read); ``closing``: a
    board being deleted too (its deletion repeated)."""
    if not board_id or len(board_id) > 64:
        raise NotFound(board_id)
    memberships, board = gateway().get_many([memberships_key(user_id), board_key(board_id)])
    role = _check(effective_role(memberships, board, user_id, board_id, closing), need, board_id)
    return (board if closing and board.exists else load_board(board_id, board)), role
