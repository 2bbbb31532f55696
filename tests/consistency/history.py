"""What the workload did: every operation with its answer, in the order they started.

An operation is *acknowledged* ("ok": the app said it was done), *refused* ("fail": a 4xx or a page that says
it was not done) or *unknown* (no answer, or a 5xx: it may or may not have happened). Invariants may hold an
unknown change either way; a refused one must never be visible.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

OK, FAIL, UNKNOWN = "ok", "fail", "unknown"


def outcome_of(status: int) -> str:
    if 200 <= status < 400:
        return OK
    if 400 <= status < 500:
        return FAIL
    return UNKNOWN


@dataclass
class Op:
    id: int
    client: int
    user: str
    kind: str  # create, edit, status, delete, restore, read, invite, remove, new_board, delete_board, fault
    via: str  # api, page, fault
    task: str = ""
    board: str = ""
    args: dict = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0
    status: int = 0
    outcome: str = UNKNOWN
    revision: int | None = None  # the task's revision this change produced (acknowledged changes)
    result: dict = field(default_factory=dict)  # what the answer says of the task (title, status, ...)

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    def line(self, t0: float) -> str:
        where = " ".join(x for x in (f"task={self.task}" if self.task else "", f"board={self.board}"
                                     if self.board else "") if x)
        rev = f" -> r{self.revision}" if self.revision is not None else ""
        return (f"  #{self.id:<4} +{self.start - t0:7.3f}s..+{self.end - t0:7.3f}s c{self.client} {self.kind:<12} "
                f"{self.via:<4} {where} {self.args} => {self.status} {self.outcome}{rev}")


class History:
    """Thread-safe record of operations (ids in start order)."""

    def __init__(self):
        self.ops: list[Op] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.t0 = time.time()

    def begin(self, client: int, user: str, kind: str, via: str, **kw) -> Op:
        with self._lock:
            op = Op(next(self._ids), client, user, kind, via, start=time.time(), **kw)
            if not self.ops:
                self.t0 = op.start  # times in the report are seconds after the first operation
            self.ops.append(op)
        return op

    @staticmethod
    def end(op: Op, status: int, outcome: str | None = None) -> Op:
        op.end, op.status = time.time(), status
        op.outcome = outcome or outcome_of(status)
        return op

    def by_id(self) -> dict[int, Op]:
        return {op.id: op for op in self.ops}

    def touching(self, tasks=(), boards=(), users=()) -> list[Op]:
        """The slice of the history a violation is about: the operations on its tasks; its boards' own
        operations (created, deleted, memberships: of its users only, if it names users; every operation
        on the board if it names no task); and the faults while they ran."""
        tasks, boards, users = set(tasks) - {""}, set(boards) - {""}, set(users) - {""}
        membership = ("new_board", "delete_board", "invite", "remove")

        def about(op: Op) -> bool:
            if op.task and op.task in tasks:
                return True
            if op.board not in boards:
                return False
            if op.kind in ("invite", "remove") and users:
                return op.args.get("member") in users
            return op.kind in membership or not tasks or (op.user in users and op.kind == "read")

        picked = [op for op in self.ops if op.kind != "fault" and about(op)]
        if not picked:
            return []
        first, last = picked[0].start, max(op.end for op in picked)
        faults = [op for op in self.ops if op.kind == "fault" and op.end >= first and op.start <= last]
        return sorted(picked + faults, key=lambda op: op.start)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for op in self.ops:
            key = f"{op.kind}:{op.outcome}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    def render(self, ops: list[Op], limit: int = 40) -> str:
        shown = ops[-limit:]
        head = [f"  ... {len(ops) - limit} earlier operations on the same keys left out"] if len(ops) > limit else []
        return "\n".join(head + [op.line(self.t0) for op in shown])
