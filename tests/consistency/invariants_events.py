"""Invariants on what events did: each handled exactly once (history, feed, inbox, deliveries, next
instances), and nobody removed from a board reads it or hears of it afterwards."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from webapp.tasks import model

from .history import OK, UNKNOWN, Op
from .invariants_data import Violation, board_of, changes_by_task, is_next_instance, writers_by_title
from .store_view import Snapshot


def _event_of(notification_id: str) -> str:
    """A notification's id starts with its event's id (``<event>``, ``<event>-<user>``, ``<event>-assigned``)."""
    return notification_id.split("-", 1)[0]


def exactly_once(ops: list[Op], snap: Snapshot) -> list[Violation]:
    out = []
    for task_id, events in sorted(snap.pending_outbox.items()):
        doc = snap.tasks.get(task_id) or {}
        board = board_of(doc)
        where = "" if board in snap.boards or board in snap.indexes else f" (its board {board} is gone)"
        out.append(Violation("exactly-once", f"{'deleted ' if doc.get('deleted') else ''}task {task_id} still lists "
                             f"{len(events)} unhandled event(s) after settling{where}: {events[:3]}",
                             [task_id], [board]))
    by_task = changes_by_task(ops)
    writers = writers_by_title(ops)
    for task_id, doc in sorted(snap.tasks.items()):
        entries = (snap.histories.get(task_id) or {}).get("items", [])
        dupes = [i for i, n in Counter(e["id"] for e in entries).items() if n > 1]
        if dupes:
            out.append(Violation("exactly-once", f"history of {task_id} has event(s) {dupes} more than once", [task_id]))
        task_ops = by_task.get(task_id, [])
        creator = writers.get(doc.get("title"))
        if not task_ops and creator is not None and creator.kind == "create" and creator.outcome == UNKNOWN:
            task_ops = [creator]  # stored, though its answer was lost: its client never learned the id
        acked = sum(op.ok for op in task_ops) + (1 if is_next_instance(doc, task_id) else 0)
        doubtful = sum(op.outcome == UNKNOWN for op in task_ops)
        if len(entries) > acked + doubtful:
            out.append(Violation("exactly-once", f"history of {task_id} has {len(entries)} entries for {acked} "
                                 f"acknowledged and {doubtful} unanswered changes", [task_id]))
        ever_deleted = any(op.kind == "delete" and op.outcome != "fail" for op in task_ops)
        if not ever_deleted and not doc.get("deleted") and len({e["id"] for e in entries}) < acked:
            out.append(Violation("exactly-once", f"history of {task_id} has {len(entries)} entries for {acked} "
                                 "acknowledged changes: some event was never handled", [task_id]))
        if (not ever_deleted and not doc.get("deleted") and doc.get("status") == "completed"
                and doc.get("recurrence", "none") != "none" and doc.get("series_id")):
            nxt = model.next_instance(Task_from(doc), datetime.now(timezone.utc))
            if nxt is not None and nxt.id not in snap.tasks:
                out.append(Violation("exactly-once", f"completed recurring task {task_id} has no next instance "
                                     f"({nxt.id})", [task_id]))
    series = Counter((d.get("series_id"), d.get("occurrence")) for d in snap.tasks.values() if d.get("series_id"))
    for (sid, n), count in series.items():
        if count > 1:
            out.append(Violation("exactly-once", f"series {sid} has {count} instances numbered {n}", [sid]))
    for board_id, feed in sorted(snap.feeds.items()):
        dupes = [i for i, n in Counter(e.get("id") for e in (feed or {}).get("items", [])).items() if n > 1]
        if dupes:
            out.append(Violation("exactly-once", f"board-feed:{board_id} has {dupes} more than once", boards=[board_id]))
    delivered = Counter((d.get("user_id"), d.get("notification_id")) for d in snap.deliveries)
    for (user, nid), n in sorted(delivered.items()):
        if n > 1:
            task = next((d.get("task_id") for d in snap.deliveries if d.get("notification_id") == nid), "")
            out.append(Violation("exactly-once", f"notification {nid} delivered {n} times to {user}", [task], users=[user]))
    for user, items in sorted(snap.inboxes.items()):
        ids = Counter(i["id"] for i in items)
        for nid, n in ids.items():
            if n > 1:
                out.append(Violation("exactly-once", f"inbox of {user} has {nid} {n} times", users=[user]))
        sent = {nid for (u, nid) in delivered if u == user}
        for nid in sorted(sent - set(ids)):
            task = next((d.get("task_id") for d in snap.deliveries if d.get("notification_id") == nid), "")
            out.append(Violation("exactly-once", f"notification {nid} was delivered to {user} but never reached "
                                 "their inbox", [task], users=[user]))
        for item in items:
            if item["id"] not in sent and item.get("task_id") in snap.tasks:
                out.append(Violation("exactly-once", f"inbox of {user} has {item['id']} ({item.get('kind')}) that "
                                     "was never delivered", [item.get("task_id")], users=[user]))
    return out


def Task_from(doc: dict):  # noqa: N802 (a constructor by another name)
    return model.Task.from_dict(doc)


def _removed_at(ops: list[Op], board: str, user: str, at: float, until: float | None = None) -> Op | None:
    """The acknowledged removal (or board deletion) that had certainly taken ``user`` off ``board`` from ``at``
    to ``until`` (default: ``at``): acknowledged before ``at``, and no invitation back (answered or not)
    started between it and ``until``."""
    until = at if until is None else until
    removal = None
    for op in ops:
        if op.board != board or not op.ok or op.end >= at:
            continue
        if op.kind == "delete_board" or (op.kind == "remove" and op.args.get("member") == user):
            removal = op if removal is None or op.end > removal.end else removal
    if removal is None:
        return None
    back = [op for op in ops if op.kind == "invite" and op.board == board and op.args.get("member") == user
            and op.outcome in (OK, UNKNOWN) and removal.start < op.start < until]
    return None if back else removal


def removed_members(ops: list[Op], snap: Snapshot) -> list[Violation]:
    """Nobody removed from a board reads it (200) or is notified of a change made on it after the removal
    (unless invited back by the time the notice went out)."""
    out = []
    for op in ops:
        if op.kind != "read" or op.status != 200 or not op.board:
            continue
        board = board_of(snap.tasks[op.task]) if op.task in snap.tasks else op.board
        removal = _removed_at(ops, board, op.user, op.start, op.end)
        if removal is not None:
            out.append(Violation("removed-member", f"#{op.id}: {op.user} read {'task ' + op.task if op.task else 'board'} "
                                 f"on {board} (200) after #{removal.id} {removal.kind} took them off it",
                                 [op.task] if op.task else [], [board], [op.user]))
    times = {e["id"]: e.get("at") for h in snap.histories.values() for e in (h or {}).get("items", [])}
    for note in snap.deliveries:
        task_id, user = note.get("task_id"), note.get("user_id")
        at = times.get(_event_of(note.get("notification_id") or ""))
        if task_id not in snap.tasks or not at:
            continue
        board = board_of(snap.tasks[task_id])
        at_seconds = datetime.fromisoformat(at).timestamp()
        # Off the board when the change was made, and still off it when the notice went out.
        sent = note.get("delivered_at")
        removal = _removed_at(ops, board, user, at_seconds,
                              max(at_seconds, datetime.fromisoformat(sent).timestamp()) if sent else None)
        if removal is not None:
            at = f"{at} (+{at_seconds - ops[0].start:.3f}s)"
            out.append(Violation("removed-member", f"{user} was notified ({note.get('kind')}, "
                                 f"{note.get('notification_id')}) of a change to task {task_id} (created by "
                                 f"{snap.tasks[task_id].get('owner')}, now {'deleted' if snap.tasks[task_id].get('deleted') else snap.tasks[task_id].get('status')}) "
                                 f"on {board} made at {at}, after "
                                 f"#{removal.id} {removal.kind} took them off it", [task_id], [board], [user]))
    return out


def memberships(ops: list[Op], snap: Snapshot) -> list[Violation]:
    """A board's members and each user's list of boards agree with the last answered membership change:
    removed (or the board deleted) means on neither; invited means on both."""
    out = []
    # A deleted board's record is kept for a while, marked deleted (no access check lets anyone in). A deletion
    # whose answer was lost (503, the client gone) counts as done once its record says so.
    live = {b for b, record in snap.boards.items() if not (record or {}).get("deleted")}
    marked = {b for b, record in snap.boards.items() if (record or {}).get("deleted")}
    deleted = {op.board for op in ops if op.kind == "delete_board"
               and (op.ok or (op.outcome == "unknown" and op.board in marked))}
    for board in sorted(deleted):
        listed = sorted(u for u, boards in snap.memberships.items() if board in boards)
        if board in live or listed:
            out.append(Violation("removed-member", f"board {board} was deleted (acknowledged) but "
                                 f"{'its record is still live' if board in live else ''} "
                                 f"{'and ' if board in live and listed else ''}"
                                 f"{f'boards-of still lists it for {listed}' if listed else ''}".strip(),
                                 boards=[board], users=listed))
    created = {op.board for op in ops if op.kind == "new_board" and op.ok}
    attempted = {op.board for op in ops if op.kind == "delete_board" and op.outcome != "fail"}
    vanished = sorted(b for b in created - attempted - deleted if b not in live)
    for board in vanished:
        refused = [f"#{op.id} {op.status}" for op in ops if op.kind == "delete_board" and op.board == board]
        listed = sorted(u for u, boards in snap.memberships.items() if board in boards)
        out.append(Violation("unacknowledged", f"board {board} is gone, though no deletion of it was acknowledged "
                             f"(refused: {', '.join(refused) or 'none asked'}); boards-of still lists it for "
                             f"{listed or 'nobody'}", boards=[board], users=listed))
    changes: dict[tuple[str, str], list[Op]] = {}
    for op in ops:
        if op.kind in ("invite", "remove") and op.outcome != "fail":
            changes.setdefault((op.board, op.args["member"]), []).append(op)
    for (board, user), seq in sorted(changes.items()):
        last = max(seq, key=lambda op: op.end)
        if board in deleted or board in vanished or not last.ok or any(op.start > last.start and op is not last for op in seq):
            continue  # a later change with no answer, or one running alongside: either state may hold
        on_board = user in ((snap.boards.get(board) or {}).get("members") or {})
        listed = board in snap.memberships.get(user, {})
        want = last.kind == "invite"
        if (on_board, listed) != (want, want):
            out.append(Violation("removed-member" if not want else "acknowledged",
                                 f"#{last.id} {last.kind} of {user} on {board} was the last acknowledged change; "
                                 f"the board {'lists' if on_board else 'does not list'} them, their boards-of "
                                 f"{'lists' if listed else 'does not list'} it", boards=[board], users=[user]))
    return out
