"""Reading "My tasks": the person's index with whatever the page needs, then the records of the boards in it.

Two sidecar calls whatever the number of boards and tasks: one bulk get of ``my-tasks:<user>``, the person's
``boards-of`` record and the caller's extra keys (the inbox head for the badge), then one bulk get of the
shared boards' records the index names, so that only boards the person is on NOW count (the lower of the two
records' roles, as every access check: ``boards.access.effective_role``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..boards import access
from ..boards import model as boards_model
from ..dapr_gateway import Item
from ..keys import board_key, memberships_key, my_tasks_key
from ..sidecar import gateway
from . import entries


@dataclass(frozen=True)
class Mine:
    """My open tasks on the boards I am on, with the boards' names; ``more``: the index left some out."""

    tasks: list[entries.MyTask]
    board_names: dict[str, str]
    more: bool


def read(user_id: str, also: Sequence[str] = (), board_id: str | None = None) -> tuple[Mine, list[Item]]:
    """My tasks (``board_id``: on that board only) and the items at ``also``, in two bulk reads."""
    mine, memberships, *extra = gateway().get_many([my_tasks_key(user_id), memberships_key(user_id), *also])
    boards = [b for b in entries.boards_in(mine.value) if board_id in (None, b)]
    shared = [b for b in boards if not boards_model.is_personal(b)]
    records = dict(zip(shared, gateway().get_many([board_key(b) for b in shared]))) if shared else {}
    names = {}
    for board in boards:
        if board == user_id:
            names[board] = boards_model.PERSONAL_NAME
        elif access.effective_role(memberships, records.get(board), user_id, board) is not None:
            names[board] = records[board].value.get("name", "")
    tasks = entries.open_tasks(mine.value, set(names))
    return Mine(tasks, names, bool((mine.value or {}).get("more"))), extra


def is_on_shared_board(user_id: str) -> bool:
    """Whether the person is a member of any shared board (their ``boards-of`` record: one read)."""
    boards = (gateway().get(memberships_key(user_id)).value or {}).get("boards") or {}
    return any(not boards_model.is_personal(b) for b in boards)
