"""The seeded workload: each client (one user) picks operations by weight from what it knows of the boards
and tasks, runs each through the pages or the API, and records it with its answer in the history.

What a client knows may be stale (another client moved the task on, removed it from a board): that is the
point, the stale operations are the races. The choice of operations is a function of the seed and the
client's number; the interleaving of clients and faults is not, so a replay runs the same operations in a
similar, not identical, order.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
import time
from datetime import datetime, timedelta, timezone

from .boards_ops import BoardOps
from .client import User
from .history import FAIL, OK, History, Op

WEIGHTS = {"create": 12, "edit": 12, "status": 12, "delete": 6, "restore": 4, "read": 10, "race": 6,
           "invite": 3, "remove": 3, "new_board": 1, "delete_board": 2}
PACE = 0.3  # the most a client waits between two operations (seconds): the run spans several faults
STATUSES = ("pending", "in_progress", "completed")
BLANK = {"description": "", "tags": "", "due_at": "", "remind_at": "", "recurrence": "none", "estimate": "",
         "priority": "medium", "assignee": ""}


def etag_revision(headers) -> int | None:
    raw = (headers.get("ETag") or "").strip('W/"') if headers else ""
    return int(raw) if raw.isdigit() else None


class World:
    """What the clients believe (shared, behind one lock): boards with their owner and members, tasks with
    their board, version, status and whether they are deleted."""

    def __init__(self, users: list[User]):
        self.users = users
        self.lock = threading.Lock()
        self.boards: dict[str, dict] = {u.id: {"owner": n, "members": {u.id}, "personal": True, "gone": False}
                                        for n, u in enumerate(users)}
        self.tasks: dict[str, dict] = {}

    def learn(self, task_id: str, **facts) -> None:
        with self.lock:
            self.tasks.setdefault(task_id, {"board": "", "version": "1", "status": "pending", "deleted": False})
            self.tasks[task_id].update({k: v for k, v in facts.items() if v is not None})


class Client(BoardOps):
    """One user's thread of operations (the task operations here, the boards' in ``BoardOps``)."""

    def __init__(self, number: int, seed: int, world: World, history: History, ops: int):
        self.n, self.world, self.history, self.ops = number, world, history, ops
        self.user = world.users[number]
        self.rng = random.Random(f"{seed}:{number}")

    def run(self, until=lambda: True) -> None:
        """``ops`` operations, then more until ``until()`` (e.g. every fault has happened meanwhile)."""
        kinds, weights = zip(*WEIGHTS.items())
        for done in itertools.count():
            if done >= self.ops and until():
                break
            kind = self.rng.choices(kinds, weights)[0]
            getattr(self, kind)(self.rng.choice(("api", "page")))
            time.sleep(self.rng.random() * PACE)

    # -- choices ------------------------------------------------------------------------------------
    def _board(self, mine: bool = True, shared: bool = False) -> str:
        with self.world.lock:
            boards = [b for b, v in self.world.boards.items() if not v["gone"] and not (shared and v["personal"])
                      and (not v["personal"] or b == self.user.id)]
            own = [b for b in boards if self.user.id in self.world.boards[b]["members"]]
        pool = own if (mine and own and self.rng.random() < 0.85) else boards
        return self.rng.choice(sorted(pool)) if pool else self.user.id

    def _task(self, deleted: bool = False) -> str | None:
        board = self._board()
        with self.world.lock:
            ids = sorted(t for t, v in self.world.tasks.items() if v["board"] == board and v["deleted"] == deleted)
        return self.rng.choice(ids) if ids else None

    def _member(self, board: str) -> str:
        with self.world.lock:
            members = sorted(self.world.boards.get(board, {}).get("members", ()))
        return self.rng.choice(members) if members and self.rng.random() < 0.5 else ""

    def _begin(self, kind: str, via: str, **kw) -> Op:
        return self.history.begin(self.n, self.user.id, kind, via, **kw)

    def _refresh(self, task_id: str) -> None:
        """Look at the task again after a refusal (a read, recorded like any other)."""
        op = self._begin("read", "api", task=task_id, board=self.world.tasks[task_id]["board"])
        status, headers, body = self.user.api("GET", f"/tasks/{task_id}")
        self.history.end(op, status)
        if status == 200:
            self.world.learn(task_id, version=str(etag_revision(headers)), status=body["status"], deleted=False)
        elif status == 404:
            self.world.learn(task_id, deleted=True)

    # -- task operations ----------------------------------------------------------------------------
    def create(self, via: str, board: str | None = None, assignee: str | None = None) -> None:
        board = board or self._board()
        op = self._begin("create", via, board=board)
        title = f"c{op.id}"
        fields = {"title": title, "assignee": assignee or (self._member(board) if board != self.user.id else "")}
        if via == "api":
            if self.rng.random() < 0.3:  # recurring: its completions create next instances
                due = datetime.now(timezone.utc) + timedelta(days=1 + self.rng.randrange(5))
                fields.update(recurrence="daily", due_at=due.isoformat(timespec="seconds"))
            path = "/tasks" if board == self.user.id else f"/boards/{board}/tasks"
            status, headers, body = self.user.api("POST", path, {**fields, "assignee": fields["assignee"] or None})
            task_id = body.get("id", "") if status == 201 and body else ""
        else:
            status, headers, _ = self.user.form(f"/tasks/new?board={board}", {**BLANK, **fields, "status": "pending"})
            task_id = headers.get("Location", "").rsplit("/", 1)[-1] if status == 302 else ""
        op.task, op.args = task_id, {"title": title, **({"assignee": fields["assignee"]} if fields["assignee"] else {})}
        self.history.end(op, status, OK if task_id else None)
        if task_id:
            op.revision, op.result = 1, {"title": title, "status": "pending", "deleted": False}
            self.world.learn(task_id, board=board, version="1", status="pending", deleted=False)

    def _change(self, kind: str, via: str, task_id: str, api_call, page_call, result: dict) -> Op:
        facts = self.world.tasks[task_id]
        version = facts["version"]
        op = self._begin(kind, via, task=task_id, board=facts["board"], args={"version": version, **result})
        if via == "api":
            status, headers, body = api_call(version)
            outcome = None
            op.revision = etag_revision(headers) if 200 <= status < 300 else None
        else:
            status, headers, _ = page_call(version, op.id)
            location = headers.get("Location", "") if status == 302 else ""
            outcome = (OK if f"ack={op.id}" in location or kind in ("edit", "delete") else FAIL) if location else None
            op.revision = int(version) + 1 if outcome == OK else None
        self.history.end(op, status, outcome)
        if op.ok:
            op.result = result
            if kind == "delete" and op.revision is None:
                op.revision = int(version) + 1
            self.world.learn(task_id, version=str(op.revision) if op.revision else None,
                             status=result.get("status"), deleted=result.get("deleted"))
        elif op.outcome == FAIL:
            self._refresh(task_id)
        return op

    def race(self, via: str) -> None:
        """Two or three different changes of one task at the same version at once (one may win)."""
        task_id = self._task()
        if task_id is None:
            return self.create(via)
        twins = []
        for kind in self.rng.sample(("delete", "status", "edit"), self.rng.choice((2, 3))):
            twin = copy.copy(self)
            twin.rng = random.Random(self.rng.random())
            twins.append(threading.Thread(target=getattr(twin, kind), args=(self.rng.choice(("api", "page")), task_id)))
        for t in twins:
            t.start()
        for t in twins:
            t.join()

    def edit(self, via: str, task_id: str | None = None, assignee: str | None = None) -> None:
        task_id = task_id or self._task()
        if task_id is None:
            return self.create(via)
        facts = self.world.tasks[task_id]
        title, priority = f"e{self.n}.{self.rng.randrange(10 ** 9)}", self.rng.choice(("low", "medium", "high"))
        assignee = assignee or (self._member(facts["board"]) if facts["board"] != self.user.id else "")
        data = {"title": title, "priority": priority, "status": facts["status"]}
        self._change("edit", via, task_id,
                     lambda v: self.user.api("PUT", f"/tasks/{task_id}", {**data, "assignee": assignee or None}, v),
                     lambda v, _: self.user.form(f"/tasks/{task_id}/edit",
                                                 {**BLANK, **data, "assignee": assignee, "version": v, "original": ""}),
                     {"title": title, "status": facts["status"], **({"assignee": assignee} if assignee else {})})

    def status(self, via: str, task_id: str | None = None) -> None:
        task_id = task_id or self._task()
        if task_id is None:
            return self.create(via)
        facts = self.world.tasks[task_id]
        new = self.rng.choice([s for s in STATUSES if s != facts["status"]])
        action = {"completed": "complete"}.get(new) or ("reopen" if facts["status"] == "completed" and new == "pending"
                                                          else "move")

        def page(version, op_id):
            data = {"version": version, "next": f"/tasks?ack={op_id}", **({"status": new} if action == "move" else {})}
            return self.user.form(f"/tasks/{task_id}/{action}", data, page=f"/tasks/{task_id}")
        self._change("status", via, task_id,
                     lambda v: self.user.api("PUT", f"/tasks/{task_id}/status", {"status": new}, v), page,
                     {"status": new})

    def delete(self, via: str, task_id: str | None = None) -> None:
        task_id = task_id or self._task()
        if task_id is None:
            return None
        self._change("delete", via, task_id, lambda v: self.user.api("DELETE", f"/tasks/{task_id}", None, v),
                     lambda v, _: self.user.form(f"/tasks/{task_id}/delete", {"version": v}, page=f"/tasks/{task_id}"),
                     {"deleted": True})

    def restore(self, via: str) -> None:
        task_id = self._task(deleted=True)
        if task_id is None:
            return None
        op = self._begin("restore", via, task=task_id, board=self.world.tasks[task_id]["board"])
        if via == "api":
            status, headers, body = self.user.api("POST", f"/tasks/{task_id}/restore")
            op.revision = etag_revision(headers) if status == 200 else None
        else:
            status, headers, _ = self.user.form(f"/tasks/{task_id}/restore", {}, page="/tasks")
        self.history.end(op, status)
        if op.ok:
            op.result = {"deleted": False}
            self.world.learn(task_id, deleted=False, version=str(op.revision) if op.revision else None)
            if op.revision is None:
                self._refresh(task_id)

    def read(self, via: str) -> None:
        board = self._board(mine=False)
        task_id = self._task() if self.rng.random() < 0.5 else None
        if task_id:
            op = self._begin("read", "api", task=task_id, board=self.world.tasks[task_id]["board"])
            self.history.end(op, self.user.api("GET", f"/tasks/{task_id}")[0])
        else:
            op = self._begin("read", via, board=board)
            path = f"/boards/{board}" if board != self.user.id else "/tasks"
            status = (self.user.api("GET", f"/boards/{board}/tasks")[0] if via == "api" else self.user.page(path)[0])
            self.history.end(op, status)
