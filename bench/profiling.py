"""py-spy profiles of gunicorn workers under load: record collapsed stacks, then rank functions.

``record`` attaches py-spy (non-blocking, so the workers are not paused;
``--gil``, so only threads running Python code are sampled, not those waiting
on a socket) to each pid for the length of a load point and merges the samples into one
collapsed-stack file (``frame;frame;... count`` per line, the input of
flamegraph.pl and speedscope). ``top`` ranks functions by the share of samples
they were on the stack (inclusive) and at its top (self).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE_HZ = 100
_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def available() -> str | None:
    """The py-spy executable of this venv (or on PATH), if any."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start(pids: list[int], seconds: float, out_dir: Path, name: str) -> list[tuple[subprocess.Popen, Path]]:
    """Start one py-spy per pid; returns (process, output file) pairs to ``finish``."""
    exe = available()
    if not exe:
        raise RuntimeError("py-spy not installed (requirements-bench.txt)")
    out_dir.mkdir(parents=True, exist_ok=True)
    running = []
    for pid in pids:
        out = out_dir / f".{name}-{pid}.raw"
        proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
                                 "--rate", str(RATE_HZ), "--format", "raw", "--nonblocking", "--gil",
                                 "--output", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        running.append((proc, out))
    return running


def finish(running: list[tuple[subprocess.Popen, Path]], target: Path) -> Counter:
    """Wait for the recorders, merge their stacks into ``target``; returns stack → samples."""
    stacks: Counter = Counter()
    for proc, out in running:
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace').strip()[-300:]}")
        for line in out.read_text().splitlines():
            match = _LINE.match(line)
            if match:
                stacks[match.group(1)] += int(match.group(2))
        out.unlink()
    target.write_text("".join(f"{stack} {n}\n" for stack, n in stacks.most_common()))
    return stacks


def _function(frame: str) -> str:
    """``func (path/to/file.py:12)`` → ``func (file.py)``, so every line of a function counts as one."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    short = "/".join(Path(match.group("file")).parts[-2:])
    return f"{match.group('func')} ({short})"


def package(frame: str) -> str:
    """Who a frame's code belongs to: a top-level package (``webapp``, ``grpc``, ``jinja2``...),
    ``stdlib <module>``, or ``python`` (generated code such as dataclass ``__init__``)."""
    match = _FRAME.match(frame)
    path = match.group("file") if match else ""
    if not path or path.startswith("<"):
        return "python"
    first = path.split("/", 1)[0].removesuffix(".py")
    if first in sys.stdlib_module_names:
        return f"stdlib {first}"
    return first if "/" in path else path.removesuffix(".py")


def top(stacks: Counter, n: int = 15) -> dict:
    """Where the samples went: by package (self time) and by function (inclusive, self), in %."""
    total = sum(stacks.values())
    inclusive: Counter = Counter()
    own: Counter = Counter()
    packages: Counter = Counter()
    for stack, count in stacks.items():
        raw = stack.split(";")
        frames = [_function(f) for f in raw]
        for func in set(frames):
            inclusive[func] += count
        own[frames[-1]] += count
        packages[package(raw[-1])] += count
    pct = (lambda c: round(100 * c / total, 1)) if total else (lambda c: 0.0)
    # Inclusive shares of 90 % and more are the server's call chain (gunicorn, Flask dispatch): not news.
    return {"samples": total, "rate_hz": RATE_HZ,
            "packages": [[p, pct(c)] for p, c in packages.most_common(n)],
            "inclusive": [[f, pct(c)] for f, c in inclusive.most_common() if pct(c) < 90][:n],
            "self": [[f, pct(c)] for f, c in own.most_common(n)]}
