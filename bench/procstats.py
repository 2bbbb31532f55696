"""CPU time and resident memory of process trees, read from /proc (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces and parentheses: split after the last ')'
    return raw[raw.rindex(")") + 2:].split()


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields:
            kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def tree(pid: int, kids: dict[int, list[int]] | None = None) -> list[int]:
    """``pid`` and all its descendants."""
    kids = children_map() if kids is None else kids
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (their own, not waited-for children)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of a process in MiB, from /proc/<pid>/smaps_rollup.

    RSS counts every resident page the process maps, shared or not; PSS divides
    each shared page among its sharers (the PSS of a group adds up to what it
    really uses); USS is the process's own pages: what one more such process
    costs (e.g. a gunicorn worker forked from a preloaded master).
    """
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                values[parts[0].rstrip(":")] = int(parts[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {"rss_mb": 0.0, "pss_mb": 0.0, "uss_mb": 0.0}
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    return {"rss_mb": mb(values.get("Rss", 0)), "pss_mb": mb(values.get("Pss", 0)),
            "uss_mb": mb(values.get("Private_Clean", 0) + values.get("Private_Dirty", 0))}


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except FileNotFoundError:
        return ""


class Groups:
    """Named process groups (each a root pid and its descendants) to sample together."""

    def __init__(self, roots: dict[str, int]):
        self.roots = dict(roots)

    def pids(self) -> dict[str, list[int]]:
        kids = children_map()
        return {name: tree(pid, kids) for name, pid in self.roots.items()}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(p) for name, p in self.pids().items()}

    def memory(self) -> dict[str, dict]:
        """RSS / PSS / USS per group, and per process inside it (e.g. gunicorn master and each worker)."""
        out = {}
        for name, pids in self.pids().items():
            per = [{"pid": p, **memory_mb(p), "cmd": comm(p)} for p in pids]
            out[name] = {key: round(sum(x[key] for x in per), 1) for key in ("rss_mb", "pss_mb", "uss_mb")}
            out[name]["processes"] = per
        return out


def cpu_percent(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """CPU of each group over the interval, in % of one core (200% = both cores of this machine)."""
    return {name: round(100 * (after.get(name, 0) - before.get(name, 0)) / seconds, 1) for name in before}


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine spent busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK
