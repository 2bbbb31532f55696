"""The workload's operations on boards and memberships: create a board and invite, invite, remove, delete a
board; each may race another member's change on the same board (``Client`` in workload.py mixes them in)."""

from __future__ import annotations

import copy
import random
import threading


def together(*calls) -> None:
    """Run the calls at once, each in its own thread; return when all are done."""
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class BoardOps:
    """Needs ``n``, ``user``, ``world``, ``history``, ``rng`` and the task operations of ``Client``."""

    def as_member(self, board: str, besides: set[str] = frozenset()):
        """This client's twin acting as another member of ``board`` (None if there is none), with its own
        random numbers drawn from this client's, so the run stays a function of the seed."""
        with self.world.lock:
            members = self.world.boards.get(board, {}).get("members", set())
            others = [n for n, u in enumerate(self.world.users) if u.id in members and u.id not in besides
                      and u is not self.user]
        if not others:
            return None
        twin = copy.copy(self)
        twin.n = self.rng.choice(others)
        twin.user, twin.rng = self.world.users[twin.n], random.Random(self.rng.random())
        return twin

    def _my_boards(self, extra_only: bool = False) -> list[str]:
        with self.world.lock:
            return sorted(b for b, v in self.world.boards.items() if v["owner"] == self.n and not v["personal"]
                          and not v["gone"] and not (extra_only and v.get("initial")))

    def invite(self, via: str, board: str | None = None, member: str | None = None) -> None:
        board = board or (self.rng.choice(self._my_boards()) if self._my_boards() else None)
        if not board:
            return None
        with self.world.lock:
            outside = [u for u in self.world.users if u.id not in self.world.boards[board]["members"]]
        invitee = next((u for u in self.world.users if u.id == member), None) or (
            self.rng.choice(outside) if outside else None)
        if invitee is None:
            return None
        op = self._begin("invite", via, board=board, args={"member": invitee.id})
        if via == "api":
            status = self.user.api("POST", f"/boards/{board}/members", {"username": invitee.username,
                                                                         "role": "editor"}, "*")[0]
        else:
            status = self.user.form(f"/boards/{board}/members", {"username": invitee.username, "role": "editor",
                                                                 "version": ""})[0]
        self.history.end(op, status)
        if op.ok:
            with self.world.lock:
                self.world.boards[board]["members"].add(invitee.id)

    def remove(self, via: str) -> None:
        boards = self._my_boards()
        if not boards:
            return None
        board = self.rng.choice(boards)
        with self.world.lock:
            members = sorted(self.world.boards[board]["members"] - {self.user.id})
        if not members:
            return self.invite(via, board)
        member = self.rng.choice(members)
        twin = self.as_member(board, besides={member}) if self.rng.random() < 0.5 else None
        if twin is None:
            return self._remove(via, board, member)
        # Someone else assigns the member a task of the board as they are removed: may they hear of it?
        with self.world.lock:
            live = sorted(t for t, v in self.world.tasks.items() if v["board"] == board and not v["deleted"])
        way, task_id = self.rng.choice(("api", "page")), (self.rng.choice(live) if live else None)
        change = ((lambda: twin.edit(way, task_id, assignee=member)) if task_id
                  else (lambda: twin.create(way, board, assignee=member)))
        together(lambda: self._remove(via, board, member), change)

    def _remove(self, via: str, board: str, member: str) -> None:
        op = self._begin("remove", via, board=board, args={"member": member})
        if via == "api":
            status = self.user.api("DELETE", f"/boards/{board}/members/{member}", None, "*")[0]
        else:
            status = self.user.form(f"/boards/{board}/members/{member}/remove", {"version": ""},
                                    page=f"/boards/{board}/members")[0]
        self.history.end(op, status)
        if op.ok:
            with self.world.lock:
                self.world.boards[board]["members"].discard(member)

    def new_board(self, via: str = "api", initial: bool = False) -> str | None:
        op = self._begin("new_board", "api")
        status, _, body = self.user.api("POST", "/boards", {"name": f"b{op.id}"})
        op.board = body["id"] if status == 201 and body else ""
        self.history.end(op, status)
        if not op.ok:
            return None
        with self.world.lock:
            self.world.boards[op.board] = {"owner": self.n, "members": {self.user.id}, "personal": False,
                                           "gone": False, "initial": initial}
        for other in self.world.users:
            if other is not self.user and (initial or self.rng.random() < 0.6):
                self.invite(via if not initial else "api", op.board, other.id)
        return op.board

    def delete_board(self, via: str) -> None:
        boards = self._my_boards(extra_only=True)
        if not boards:
            return None if self.new_board() else None
        board = self.rng.choice(boards)
        with self.world.lock:
            live = sorted(t for t, v in self.world.tasks.items() if v["board"] == board and not v["deleted"])
        for task_id in live:  # empty it first (others may be adding meanwhile: the race this is after)
            self.delete(via, task_id)
        twin = self.as_member(board) if self.rng.random() < 0.6 else None
        if twin is None:
            return self._delete_board(via, board)
        way = self.rng.choice(("api", "page"))
        together(lambda: self._delete_board(via, board), lambda: twin.create(way, board))

    def _delete_board(self, via: str, board: str) -> None:
        op = self._begin("delete_board", via, board=board)
        if via == "api":
            status = self.user.api("DELETE", f"/boards/{board}", None, "*")[0]
        else:
            status = self.user.form(f"/boards/{board}/delete", {"version": ""}, page=f"/boards/{board}/members")[0]
        self.history.end(op, status)
        if op.ok:
            with self.world.lock:
                self.world.boards[board]["gone"] = True
