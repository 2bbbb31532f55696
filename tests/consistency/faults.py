"""Faults injected while the workload runs, each recorded in the history (kind "fault") with its window.

    sidecar   the taskboard app's daprd killed, started again 1-3 s later
    pause     the state store's server frozen (SIGSTOP to its process group) for 1-3 s, then SIGCONT
    broker    the broker's server stopped for 2-4 s and started again (on the redis stack it is the store too)
    notifier  notification-service stopped for 2-4 s (its deliveries wait and are redelivered)

Every fault is undone before the injector returns, whatever happens.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

from .history import OK, History

FAULTS = ("sidecar", "pause", "broker", "notifier")


def parse_faults(text: str) -> tuple[str, ...]:
    """The faults named in ``text`` (comma-separated; "none" or empty: none); ``ValueError`` for an unknown one."""
    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none")
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault(s) {unknown}: choose from {', '.join(FAULTS)}")
    return names


class Injector(threading.Thread):
    """Injects one fault at a time, 1-3 s apart, each configured fault in turn (in an order the seed
    shuffles), until ``stop`` is set."""

    def __init__(self, stack, seed: int, faults: tuple[str, ...], history: History):
        super().__init__(name="fault-injector", daemon=True)
        self.stack, self.faults, self.history = stack, faults, history
        self.rng = random.Random(f"{seed}:faults")
        self.stopping = threading.Event()
        self.all_injected = threading.Event()  # each configured fault has happened at least once
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            turn: list[str] = []
            if not self.faults:
                self.all_injected.set()
            while self.faults and not self.stopping.wait(1 + self.rng.random() * 2):
                turn = turn or self.rng.sample(self.faults, len(self.faults))
                self.inject(turn.pop())
                if not turn:
                    self.all_injected.set()
        except BaseException as err:  # reported by the test: a stack that cannot recover is a failure too
            self.error = err
            self.all_injected.set()

    def inject(self, fault: str) -> None:
        length = round(1 + self.rng.random() * (2 if fault in ("sidecar", "pause") else 3) +
                       (1 if fault in ("broker", "notifier") else 0), 2)
        process = {"sidecar": "daprd-taskboard", "pause": self.stack.state_server,
                   "broker": self.stack.broker_server, "notifier": "notification-service"}[fault]
        op = self.history.begin(-1, "", "fault", "fault", args={"fault": fault, "process": process,
                                                               "seconds": length})
        try:
            if fault == "pause":
                self._signal(process, signal.SIGSTOP)
                try:
                    time.sleep(length)
                finally:
                    self._signal(process, signal.SIGCONT)
            else:
                self.stack.stop(process)
                try:
                    time.sleep(length)
                finally:
                    self.stack.restart(process)
        finally:
            self.history.end(op, 0, OK)

    def _signal(self, process: str, signum: int) -> None:
        proc = self.stack.processes.procs[process]
        os.killpg(proc.pid, signum)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=120)
