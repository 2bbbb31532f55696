"""Deleting an account: what happens to the boards it owns is chosen first, then everything of it goes.

In an order that can stop anywhere and be repeated (each step is idempotent, and the account can still sign
in until the last one): 1. each shared board the user is the last owner of is given to the member they chose
(made owner) or deleted with its tasks (every live task deleted, then the fenced ``boards.deletion.delete``);
2. the user leaves every shared board (their tasks there stay, and show as from a deleted user); 3. their
personal board's tasks are deleted (tombstones the sweep purges; the id stays in the users index so it does);
4. API tokens are revoked, single sign-on links, second factor, inbox, digest job and memberships removed; 5. ``user:<id>`` becomes
a tombstone ``{id, deleted, deleted_at}`` (a guarded write: no stale write can bring the account back) and the
username is released. Security events are logged (``security_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..auth import tokens, users
from ..background import digests
from ..boards import deletion as board_deletion
from ..boards import model, store
from ..dapr_gateway import Conflict, NotFound
from ..keys import (GONE_TTL_SECONDS, board_key, digest_next_key, inbox_archive_key, inbox_key, memberships_key,
                    user_key)
from ..sidecar import clear_for_good, gateway, retry_on_conflict
from ..tasks import service
from ..tasks import store as task_store
from . import sso_accounts, two_factor

DELETE = "delete"
DELETED_NAME = "a deleted user"


class PlanChanged(ValueError):
    """A board's members changed since the page was shown (a choice names someone no longer on it)."""


@dataclass(frozen=True)
class OwnedBoard:
    """A shared board the user is the last owner of: who could take it over, and what it holds."""

    id: str
    name: str
    members: list[tuple[str, str]] = field(default_factory=list)  # (user id, username), not the user
    live_tasks: int = 0


@dataclass(frozen=True)
class Plan:
    owned: list[OwnedBoard]  # must each get a choice
    other_boards: list[str]  # names of shared boards the user just leaves
    personal_tasks: int


def plan(user_id: str) -> Plan:
    """What deleting the account would do (one read of the memberships, one bulk read of the boards)."""
    mine = {b: entry for b, entry in store.memberships(user_id).items() if b != user_id}
    records = gateway().get_many([board_key(b) for b in mine])
    owned, others = [], []
    for item in records:
        if not (item.exists and model.is_open(item.value)):
            continue
        board = item.value
        if model.owners(board) == [user_id]:
            members = sorted(((uid, m["username"]) for uid, m in board["members"].items() if uid != user_id),
                             key=lambda pair: pair[1].lower())
            live = len(task_store.load_all(board["id"]))
            owned.append(OwnedBoard(board["id"], board["name"], members, live))
        elif model.role_of(board, user_id):
            others.append(board["name"])
    return Plan(owned, others, len(task_store.load_all(user_id)))


def delete_account(user: users.User, choices: dict[str, str]) -> None:
    """Delete ``user``'s account, handing over or deleting their owned boards as ``choices`` says
    ({board id: member id or ``DELETE``}). Raises ``PlanChanged`` when a choice is missing or no longer
    possible (nothing more is done), ``Unavailable`` when the store fails (repeat it to finish)."""
    current = plan(user.id)
    for board in current.owned:
        choice = choices.get(board.id)
        if choice != DELETE and choice not in dict(board.members):
            raise PlanChanged(board.name)
    for board in current.owned:
        if choices[board.id] == DELETE:
            _delete_board(board.id, user.id)
        else:
            _hand_over(board.id, choices[board.id])
    for board_id in store.memberships(user.id):
        if board_id != user.id:
            _leave(board_id, user.id)
    for task in task_store.load_all(user.id):
        _delete_task(user.id, task.id, user.id)
    for token in tokens.listing(user.id):
        tokens.revoke(user.id, token["id"])
    sso_accounts.unlink_all(user.id)
    gateway().delete_job(digests.job_name(user.id))
    clear_for_good(_account_gone(user.id), GONE_TTL_SECONDS, "clearing a deleted account's records")
    _bury_account(user)


def _account_gone(user_id: str) -> list[tuple[str, dict]]:
    """The account's own records, each with the empty value it is cleared to (``sidecar.clear_for_good``: a
    notification or invitation that read one before cannot write it back)."""
    return [(digest_next_key(user_id), {}), (two_factor.key(user_id), {"enabled": False}),
            (two_factor.setup_key(user_id), {}), (inbox_key(user_id), {"items": []}),
            (inbox_archive_key(user_id), {"items": []}), (memberships_key(user_id), {"boards": {}}),
            (board_key(user_id), {"id": user_id, "members": {}, "deleted": True})]


def _delete_task(board_id: str, task_id: str, actor: str) -> None:
    try:
        service.delete(board_id, task_id, task_store.ANY_VERSION, actor=actor)
    except NotFound:
        pass  # deleted meanwhile


def _delete_board(board_id: str, actor: str) -> None:
    """Every live task deleted, then the board (a task created meanwhile: deleted too, and again)."""
    for _ in range(5):
        for task in task_store.load_all(board_id):
            _delete_task(board_id, task.id, actor)
        try:
            board_deletion.delete(board_id)
            return
        except model.MembershipError:
            continue  # a task was created while the board was not closed yet
        except NotFound:
            return  # deleted already (a repeated deletion)
    raise Conflict(f"board {board_id} kept getting new tasks while it was deleted")


def _hand_over(board_id: str, member_id: str) -> None:
    try:
        store.change_membership(board_id, member_id, lambda b: model.with_role(b, member_id, "owner"))
    except NotFound:
        pass


def _leave(board_id: str, user_id: str) -> None:
    try:
        store.change_membership(board_id, user_id, lambda b: model.without_member(b, user_id))
    except NotFound:
        store.set_membership(user_id, board_id, None)  # the board went meanwhile: only the entry is left
    except model.MembershipError as err:
        if "Not a member" in str(err):
            store.set_membership(user_id, board_id, None)
        else:
            raise PlanChanged(board_id) from err


def _bury_account(user: users.User) -> None:
    key = user_key(user.id)

    def attempt() -> None:
        item = gateway().get(key)
        if item.exists and not item.value.get("deleted"):
            gateway().save(key, {"id": user.id, "deleted": True,
                                 "deleted_at": datetime.now(timezone.utc).isoformat()}, etag=item.etag)

    retry_on_conflict(attempt, "user")
    users.release_name(user.username, user.id)
