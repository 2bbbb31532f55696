"""The stack's child processes: each in its own session, its output pumped to a log file (and the
console under `make run`), waited for until it answers, stopped by process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

COLOURS = {"redis": 31, "postgres": 31, "kafka": 91, "scheduler": 35, "placement": 35, "daprd-taskboard": 34, "daprd-notification-service": 36,
           "taskboard": 32, "notification-service": 33}


class StackError(RuntimeError):
    pass


class Processes:
    """Named child processes with their logs in ``logs_dir/<name>.log``."""

    def __init__(self, logs_dir: Path, *, console: bool = False):
        self.logs_dir = logs_dir
        self.console = console
        self.procs: dict[str, subprocess.Popen] = {}
        self.stop_signals: dict[str, int] = {}

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path,
              stop_signal: int = signal.SIGTERM) -> subprocess.Popen:
        """Start ``argv`` as ``name`` in a new session, with ``env`` on top of this process's environment
        (``stop_signal``: what asks it to stop promptly, e.g. PostgreSQL's SIGINT)."""
        self.stop_signals[name] = stop_signal
        log_file = open(self.logs_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._pump, args=(name, proc, log_file), daemon=True).start()
        self.procs[name] = proc
        return proc

    def _pump(self, name: str, proc: subprocess.Popen, log_file) -> None:
        prefix = f"\x1b[{COLOURS.get(name, 37)}m{name:>27} |\x1b[0m " if sys.stdout.isatty() else f"{name:>27} | "
        for line in iter(proc.stdout.readline, b""):
            log_file.write(line)
            log_file.flush()
            if self.console:
                sys.stdout.write(prefix + line.decode(errors="replace"))
                sys.stdout.flush()
        log_file.close()

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 60.0,
                   proc_name: str | None = None) -> None:
        """Poll ``check`` until true; StackError on timeout or when ``proc_name`` exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc_name and self.procs[proc_name].poll() is not None:
                raise StackError(f"{proc_name} exited with {self.procs[proc_name].returncode}; "
                                 f"see {self.logs_dir / (proc_name + '.log')}")
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise StackError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.logs_dir}")

    def stop(self, name: str | None = None) -> None:
        """Stop one process, or all of them in reverse start order (and forget them)."""
        names = [name] if name else list(reversed(self.procs))
        for n in names:
            proc = self.procs.get(n)
            if proc and proc.poll() is None:
                try:
                    os.killpg(proc.pid, self.stop_signals.get(n, signal.SIGTERM))
                except ProcessLookupError:
                    pass
        for n in names:
            proc = self.procs.get(n)
            if not proc:
                continue
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            if name is None:
                self.procs.pop(n, None)

    def first_exited(self) -> tuple[str, int] | None:
        """(name, exit code) of a process that has exited, if any."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None
