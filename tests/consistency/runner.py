"""One run of the consistency checker: users and boards set up, the clients and the fault injector started,
the events settled, every invariant checked. Sizes come from the environment (defaults fit CI: 2 cores)."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .client import User
from .faults import FAULTS, Injector, parse_faults
from .history import History
from .invariants_data import Violation, acknowledged_changes, expiries, indexes
from .invariants_events import exactly_once, memberships, removed_members
from .invariants_mine import my_tasks
from .store_view import fire_sweep, settle, snapshot
from .workload import Client, World

CHECKS = (acknowledged_changes, lambda ops, snap: expiries(snap), indexes, exactly_once, removed_members,
          memberships)


@dataclass
class Settings:
    """``CONSISTENCY_SEED`` (default: a new random seed, printed), ``CONSISTENCY_CLIENTS`` (4: one user
    each), ``CONSISTENCY_OPS`` (25 per client at least: they go on until every fault has happened),
    ``CONSISTENCY_FAULTS`` (all of sidecar,pause,broker,notifier; "none" for none),
    ``CONSISTENCY_SETTLE_SECONDS`` (180: the most the events may take to settle),
    ``CONSISTENCY_SOAK_SECONDS`` (0: one run; else runs with seeds seed, seed+1, ... until the time is up,
    each failing seed reported at the end)."""

    seed: int
    clients: int = 4
    ops: int = 25
    faults: tuple[str, ...] = FAULTS
    settle_seconds: float = 180.0
    soak_seconds: float = 0.0

    @classmethod
    def from_env(cls, env=os.environ) -> "Settings":
        seed = env.get("CONSISTENCY_SEED")
        return cls(seed=int(seed) if seed else random.SystemRandom().randrange(1, 10 ** 6),
                   clients=int(env.get("CONSISTENCY_CLIENTS", 4)), ops=int(env.get("CONSISTENCY_OPS", 25)),
                   faults=parse_faults(env.get("CONSISTENCY_FAULTS", ",".join(FAULTS))),
                   settle_seconds=float(env.get("CONSISTENCY_SETTLE_SECONDS", 180)),
                   soak_seconds=float(env.get("CONSISTENCY_SOAK_SECONDS", 0)))


@dataclass
class Result:
    seed: int
    history: History
    violations: list[Violation] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    injector_error: BaseException | None = None

    def report(self, settings: Settings) -> str:
        lines = [f"consistency run: seed {self.seed} ({settings.clients} clients x {settings.ops} ops, faults "
                 f"{','.join(settings.faults) or 'none'}): {len(self.violations)} violation(s); "
                 f"ops {self.history.counts()}; checked {self.stored}; seconds {self.seconds}",
                 f"replay: CONSISTENCY_SEED={self.seed} CONSISTENCY_CLIENTS={settings.clients} "
                 f"CONSISTENCY_OPS={settings.ops} CONSISTENCY_FAULTS={','.join(settings.faults) or 'none'} "
                 "make test-consistency",
                 f"times are seconds after {datetime.fromtimestamp(self.history.t0, timezone.utc).isoformat()}"]
        faults = [f"{op.args['fault']} +{op.start - self.history.t0:.1f}s {op.end - op.start:.1f}s"
                  for op in self.history.ops if op.kind == "fault"]
        lines.append(f"faults: {', '.join(faults) or 'none'}")
        if self.injector_error:
            lines.append(f"the fault injector failed: {self.injector_error!r}")
        shown = set()
        for v in self.violations:
            lines.append(f"\n[{v.invariant}] {v.detail}")
            key = (tuple(v.tasks), tuple(v.boards), tuple(v.users))
            if key in shown:
                lines.append("  (history as above)")
                continue
            shown.add(key)
            lines.append(self.history.render(self.history.touching(v.tasks, v.boards, v.users)))
        return "\n".join(lines)


def set_up(base: str, settings: Settings, history: History) -> World:
    """The users (one per client), each with a shared board every other user is invited to."""
    world = World([User(base).sign_up() for _ in range(settings.clients)])
    for n in range(settings.clients):
        Client(n, settings.seed, world, history, 0).new_board(initial=True)
    return world


def run_once(stack, gateway, settings: Settings, seed: int) -> Result:
    history = History()
    result = Result(seed, history)
    started = time.monotonic()
    world = set_up(stack.url(), settings, history)
    clients = [Client(n, seed, world, history, settings.ops) for n in range(settings.clients)]
    injector = Injector(stack, seed, settings.faults, history)
    threads = [threading.Thread(target=c.run, args=(injector.all_injected.is_set,), name=f"client-{c.n}")
               for c in clients]
    injector.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    injector.stop()
    result.injector_error = injector.error
    result.seconds["workload"] = round(time.monotonic() - started, 1)
    boards = set(world.boards) | {op.board for op in history.ops if op.board}
    users = {u.id for u in world.users}
    known = {op.task for op in history.ops if op.task}
    settled = settle(stack, gateway, boards, users, known, settings.settle_seconds)
    result.seconds["settle"] = round(settled.seconds, 1)
    result.seconds["sweeps fired"] = settled.sweeps
    snap, ops = settled.final, list(history.ops)
    result.stored = {"tasks": len(snap.tasks), "tombstones": sum(bool(d.get("deleted")) for d in snap.tasks.values()),
                     "history entries": sum(len((h or {}).get("items", [])) for h in snap.histories.values()),
                     "deliveries": len(snap.deliveries), "inbox items": sum(map(len, snap.inboxes.values()))}
    for check in CHECKS:
        result.violations += check(ops, snap)
    # "My tasks" of someone removed from a board while a task there was changed for them, or invited back, is
    # set right by the sweep (its round: every 5 minutes; the page shows only boards the person is on): the
    # invariant holds once a sweep has run, so one is fired first if settling fired none.
    if not settled.sweeps:
        fire_sweep(stack, gateway)
        snap = snapshot(stack, gateway, boards, users, known)
    result.violations += my_tasks(ops, snap)
    # Rows are written in their change's transaction: before the sweep repairs anything, the row of a task
    # whose every change was answered must already equal it (reported here if the sweep repaired it).
    answered = {op.task for op in ops if op.task} - {op.task for op in ops if op.task and op.outcome == "unknown"}
    final = {v.detail for v in result.violations}
    result.violations += [v for v in indexes(ops, settled.before_sweep, only=answered, when="before the sweep")
                          if v.detail not in final]
    return result
