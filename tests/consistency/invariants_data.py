"""Invariants on what is stored: acknowledged changes kept and refused ones invisible, expiries, the indexes.

Each check takes the history and the settled snapshot and returns its violations; a violation names the
tasks, boards and users it is about, so the report can show the slice of the history that touches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp.keys import GONE_TTL_SECONDS
from webapp.tasks.model import Task
from webapp.tasks.rows import Summary, is_row, tombstone_row
from webapp.tasks.store import OUTBOX_TTL_SECONDS, UNDO_SECONDS

from .history import FAIL, UNKNOWN, Op
from .store_view import Snapshot

CHANGES = ("create", "edit", "status", "delete", "restore")
NEVER = -1  # a TTL that never ends (redis TTL / psql: no expiry)


@dataclass
class Violation:
    invariant: str
    detail: str
    tasks: list[str] = field(default_factory=list)
    boards: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)


def board_of(doc: dict) -> str:
    return doc.get("board_id") or doc.get("owner") or ""


def changes_by_task(ops: list[Op]) -> dict[str, list[Op]]:
    out: dict[str, list[Op]] = {}
    for op in ops:
        if op.task and op.kind in CHANGES:
            out.setdefault(op.task, []).append(op)
    return out


def writers_by_title(ops: list[Op]) -> dict[str, Op]:
    """Which operation wrote each title (every create and edit writes a title of its own)."""
    return {op.args["title"]: op for op in ops if op.kind in ("create", "edit") and "title" in op.args}


def is_next_instance(doc: dict, task_id: str) -> bool:
    return bool(doc.get("series_id")) and doc.get("series_id") != task_id


def acknowledged_changes(ops: list[Op], snap: Snapshot) -> list[Violation]:
    """Every acknowledged change is in its task or superseded by a later one; nothing refused is visible."""
    out = []
    writers = writers_by_title(ops)
    by_task = changes_by_task(ops)
    for task_id, task_ops in sorted(by_task.items()):
        doc = snap.tasks.get(task_id)
        acked = [op for op in task_ops if op.ok and op.revision is not None]
        if doc is None:
            if any(op.ok for op in task_ops):
                out.append(Violation("acknowledged", f"task {task_id} has no document at all, though "
                                     f"{len([o for o in task_ops if o.ok])} changes to it were acknowledged",
                                     [task_id]))
            continue
        stored = int(doc.get("revision") or 0)
        seen: dict[int, Op] = {}
        for op in acked:
            if op.revision > stored:
                out.append(Violation("acknowledged", f"#{op.id} {op.kind} was acknowledged at revision "
                                     f"{op.revision} but the task is stored at revision {stored}: lost", [task_id]))
            if op.revision in seen:
                out.append(Violation("acknowledged", f"#{seen[op.revision].id} and #{op.id} were both acknowledged "
                                     f"as revision {op.revision}: one of them was lost", [task_id]))
            seen[op.revision] = op
            if op.revision == stored:
                for name, want in op.result.items():
                    have = bool(doc.get("deleted")) if name == "deleted" else doc.get(name)
                    if have != want:
                        out.append(Violation("acknowledged", f"#{op.id} {op.kind} was acknowledged as revision "
                                             f"{stored}, the stored revision, with {name}={want!r}; stored "
                                             f"{name}={have!r}", [task_id]))
        in_doubt = [op for op in task_ops if op.outcome == UNKNOWN or (op.ok and op.revision is None)]
        top = max([op.revision for op in acked] or [0])
        if stored > top + len(in_doubt):
            out.append(Violation("unacknowledged", f"task {task_id} is at revision {stored}, but only revision "
                                 f"{top} was acknowledged and {len(in_doubt)} changes have no answer: a change "
                                 "nobody was told of is stored", [task_id]))
    for task_id, doc in sorted(snap.tasks.items()):
        writer = writers.get(doc.get("title"))
        if writer is not None and writer.outcome == FAIL:
            out.append(Violation("unacknowledged", f"task {task_id} shows title {doc.get('title')!r} from #{writer.id} "
                                 f"{writer.kind}, which was refused ({writer.status})", [task_id, writer.task]))
        elif writer is None and not is_next_instance(doc, task_id):
            out.append(Violation("unacknowledged", f"task {task_id} ({doc.get('title')!r}) was never created by "
                                 "the workload", [task_id], [board_of(doc)]))
    return out


def expiries(snap: Snapshot) -> list[Violation]:
    """No live item carries an expiry; no tombstone (or outbox item) lives for ever.

    A tombstone carries no expiry while its board's index lists it (the sweep purges it from there, with a
    guarded delete); one taken off a deleted board (``<board>:deleted``) must expire within the undo window,
    and once the board is marked deleted its history (its remains) must be cleared (empty, expiring). A purged
    tombstone is kept, marked ``purging``, as a fence that expires, its history cleared.
    A deleted board's record and closed index are kept for a bounded time.
    """
    out = []
    for task_id, doc in sorted(snap.tasks.items()):
        ttl = snap.ttls.get(f"task:{task_id}")
        if doc.get("deleted"):
            board = str(doc.get("board_id") or doc.get("owner") or "")
            if board.endswith(":deleted"):
                if not (ttl is not None and 0 < ttl <= UNDO_SECONDS):
                    out.append(Violation("expiry", f"tombstone of task {task_id}, taken off its deleted board, has "
                                         f"TTL {ttl} (want 0 < TTL <= {UNDO_SECONDS})", [task_id]))
                former = board.removesuffix(":deleted")
                if (snap.boards.get(former) or {}).get("deleted") and task_id in snap.histories and not _cleared(
                        snap.histories[task_id], snap.ttls.get(f"activity:{task_id}")):
                    out.append(Violation("expiry", f"task {task_id}, taken off board {former} (deleted), left its "
                                         "history behind: no index lists it, nothing would ever delete it",
                                         [task_id], [former]))
            elif doc.get("purging"):
                if not (ttl is not None and 0 < ttl <= GONE_TTL_SECONDS):
                    out.append(Violation("expiry", f"task {task_id}, purged, has TTL {ttl} (want 0 < TTL <= "
                                         f"{GONE_TTL_SECONDS}: kept only as a fence)", [task_id]))
                elif task_id in snap.histories and not _cleared(snap.histories[task_id],
                                                                snap.ttls.get(f"activity:{task_id}")):
                    out.append(Violation("expiry", f"task {task_id}, purged, left its history behind", [task_id]))
            elif task_id not in ((snap.indexes.get(board) or {}).get("ids") or []):
                out.append(Violation("expiry", f"tombstone of task {task_id} is listed by no index: the sweep "
                                     f"never purges it (TTL {ttl})", [task_id], [board]))
        else:
            if ttl not in (NEVER, None):
                out.append(Violation("expiry", f"live task {task_id} (revision {doc.get('revision')}, "
                                     f"{doc.get('status')}) expires in {ttl} s", [task_id]))
            history_ttl = snap.ttls.get(f"activity:{task_id}")
            if history_ttl not in (NEVER, None):
                out.append(Violation("expiry", f"the history of live task {task_id} expires in {history_ttl} s",
                                     [task_id]))
    for key, ttl in sorted(snap.ttls.items()):
        board_id = key.split(":", 1)[1]
        gone = (snap.indexes.get(board_id) or {}).get("closed") or (snap.boards.get(board_id) or {}).get("deleted")
        if key.startswith(("tasks-of:", "board:")) and ttl != NEVER and not gone:
            out.append(Violation("expiry", f"{key} expires in {ttl} s", boards=[board_id]))
        if key.startswith("outbox:") and not 0 < ttl <= OUTBOX_TTL_SECONDS:
            out.append(Violation("expiry", f"{key} has TTL {ttl} (want 0 < TTL <= {OUTBOX_TTL_SECONDS})"))
    return out


def _cleared(history: dict | None, ttl: int | None) -> bool:
    """A gone task's history as its end leaves it: empty, expiring within ``GONE_TTL_SECONDS``."""
    return history == {"items": []} and ttl is not None and 0 < ttl <= GONE_TTL_SECONDS


def expected_row(doc: dict):
    if doc.get("deleted"):
        return tombstone_row(int(doc.get("revision") or 0))
    return Summary.of(Task.from_dict(doc)).to_row()


def indexes(ops: list[Op], snap: Snapshot, only: set[str] | None = None, when: str = "") -> list[Violation]:
    """Every index row equals its task; every live task has its row on its board; no row without a live task.

    ``only``: check these tasks alone; ``when``: what the snapshot is, named in each violation."""
    found = _indexes(ops, snap)
    if only is not None:
        found = [v for v in found if set(v.tasks) <= only]
    for v in found:
        v.invariant += f" ({when})" if when else ""
    return found


def _indexes(ops: list[Op], snap: Snapshot) -> list[Violation]:
    out = []
    for board_id, index in sorted(snap.indexes.items()):
        rows = (index or {}).get("rows", {})
        for task_id in (index or {}).get("ids", []):
            doc, row = snap.tasks.get(task_id), rows.get(task_id)
            live_row = is_row(row)
            if doc is None or board_of(doc) != board_id:
                if live_row:
                    out.append(Violation("index", f"ghost card: tasks-of:{board_id} shows {task_id} "
                                         f"({row[0] if row else ''}) which is {'not stored' if doc is None else 'on another board'}",
                                         [task_id], [board_id]))
                continue
            want = expected_row(doc)
            if row != want:
                kind = "ghost card" if live_row and doc.get("deleted") else (
                    "hidden card" if not live_row and not doc.get("deleted") else "stale row")
                out.append(Violation("index", f"{kind}: tasks-of:{board_id} row of {task_id} is {row!r}; its task "
                                     f"(revision {doc.get('revision')}) gives {want!r}", [task_id], [board_id]))
    gone = {op.board for op in ops if op.kind == "delete_board" and op.ok}
    for task_id, doc in sorted(snap.tasks.items()):
        board_id = board_of(doc)
        if doc.get("deleted"):
            continue
        if board_id in gone or (board_id not in snap.boards and any(op.kind == "new_board" and op.board == board_id
                                                                    for op in ops)):
            out.append(Violation("index", f"live task {task_id} ({doc.get('title')!r}) is on board {board_id}, "
                                 "whose record is gone: nobody can see it", [task_id], [board_id]))
        elif task_id not in ((snap.indexes.get(board_id) or {}).get("ids", [])):
            out.append(Violation("index", f"hidden card: live task {task_id} is not in tasks-of:{board_id}",
                                 [task_id], [board_id]))
    return out
