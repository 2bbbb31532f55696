"""What a committed task write owes the people it concerns: the task's entry in its holder's "My tasks"
(``my-tasks:<user id>``, ``my_tasks/index.py``), and a tombstone in its former holder's.

Each entry is its own guarded write, made only after the task's own write passed (like its row in the board's
index); if one keeps losing, the board is marked for the relay, which rebuilds the entries from the documents.
"""

from __future__ import annotations

from ..dapr_gateway import Item
from ..keys import my_tasks_key
from ..my_tasks import index as my_tasks
from .model import Task
from .relay_marks import mark_or_owe


def keys_to_read(task: Task) -> list[str]:
    """The keys a new task's insert reads with its board's index (its holder's "My tasks"; none: nobody's)."""
    holder = my_tasks.holder_of(task)
    return [my_tasks_key(holder)] if holder else []


def follow(before: Task | None, after: Task, deleted: bool = False, reads: dict[str, Item] | None = None) -> None:
    """The task's entry in its holder's "My tasks" after its own write passed (``before``: the task as that
    write read it, None for a new or restored task; ``reads``: items the request already read, by key); when a
    write keeps losing, the board is marked for the relay (or the mark owed). Raises nothing."""
    if not my_tasks.follow(before, after, deleted, reads):
        mark_or_owe(after.board_id)
