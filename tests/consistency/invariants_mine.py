"""The invariant on "My tasks": once the sweep has run, each person's ``my-tasks`` index equals the documents."""

from __future__ import annotations

from webapp.boards import model as boards_model
from webapp.my_tasks import entries
from webapp.tasks.model import Task
from webapp.tasks.rows import is_row

from .history import Op
from .invariants_data import Violation, board_of
from .store_view import Snapshot


def _on(snap: Snapshot, user: str, board: str) -> bool:
    """Whether the person is on the board as stored (both records name them; a personal board is its owner's)."""
    if board == user:
        return True
    record = snap.boards.get(board) or {}
    return (board in snap.memberships.get(user, {}) and boards_model.is_open(record)
            and user in (record.get("members") or {}))


def my_tasks(ops: list[Op], snap: Snapshot) -> list[Violation]:
    """Every open task on a board its holder (assignee, else creator) is on has its entry, equal to the task, in
    the holder's "My tasks"; no one has a live entry of a task that is not theirs or of a board they are not on."""
    wanted: dict[str, dict[str, list]] = {user: {} for user in snap.mine}
    for task_id, doc in snap.tasks.items():
        if doc.get("deleted"):
            continue
        task = Task.from_dict(doc)
        holder = entries.holder(task)
        if holder in wanted and _on(snap, holder, board_of(doc)):
            wanted[holder][task_id] = entries.live_entry(task)
    out = []
    for user, index in sorted(snap.mine.items()):
        live = {t: e for t, e in ((index or {}).get("rows") or {}).items() if is_row(e[1])}
        for task_id, entry in sorted(wanted[user].items()):
            if live.get(task_id) != entry:
                kind = "missing" if task_id not in live else "stale"
                out.append(Violation("my tasks", f"{kind} entry: my-tasks:{user} has {live.get(task_id)!r} for "
                                     f"{task_id}; its task gives {entry!r}", [task_id], [entry[0]], [user]))
        for task_id in sorted(set(live) - set(wanted[user])):
            out.append(Violation("my tasks", f"ghost entry: my-tasks:{user} lists {task_id} on {live[task_id][0]}, "
                                 "which is not theirs (or on a board they are not on)", [task_id],
                                 [live[task_id][0]], [user]))
    return out
