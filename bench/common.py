"""What every part of the benchmark shares: the clock, progress lines, the load grid."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

T_START = time.monotonic()


def say(message: str) -> None:
    print(f"[bench {time.monotonic() - T_START:6.1f}s] {message}", flush=True)


FRACTIONS = (0.25, 0.5, 0.8, 1.1)  # offered load as fractions of the calibrated capacity
PROFILE_FRACTION = 0.5  # the extra, profiled point of a full-stack scenario (not in the tables)
N_CREATE_USERS = 64  # creates spread over this many users (index contention of a busy team, not of one user)


class IndexCounter:
    """Hands out consecutive operation indexes, so no task is completed twice."""

    def __init__(self):
        self.value = 0

    def take(self, n: int) -> int:
        start = self.value
        self.value += n
        return start


class StackDied(RuntimeError):
    """A process of the stack exited during the run."""


async def until_quiet(count: Callable[[], float], timeout: float = 30.0, quiet: float = 1.0) -> tuple[float, bool]:
    """Until ``count`` stays the same for ``quiet`` seconds: (seconds waited, whether it settled in ``timeout``)."""
    start = last_change = time.monotonic()
    last = count()
    while time.monotonic() - start < timeout:
        await asyncio.sleep(0.25)
        now = count()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return time.monotonic() - start, True
    return timeout, False
