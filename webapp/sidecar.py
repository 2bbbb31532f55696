"""The one accessor for the app's Dapr gateway, the one optimistic-concurrency retry, and the one way to make
keys go that someone may still be writing (``clear_for_good``).

Every module gets the gateway through ``gateway()`` (like flaskr's ``get_db``),
never from ``current_app.extensions`` itself. Every read-modify-write loop goes
through ``retry_on_conflict``: bounded attempts, full-jitter exponential
backoff, one ``Conflict`` when exhausted, and a metric of the retries. A loop
over a large, busy document (a board's index) runs ``in_turn`` of its key.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from flask import current_app

from .dapr_gateway import Conflict, DaprGateway, Upsert
from .metrics import CONFLICT_RETRIES

T = TypeVar("T")
EXTENSION = "dapr"
ATTEMPTS = 8
BASE_DELAY_SECONDS = 0.005
MAX_DELAY_SECONDS = 0.25
CLEARED_PER_TRANSACTION = 100
TURN_WAIT_SECONDS = 5.0


def gateway() -> DaprGateway:
    """The current app's gateway to its sidecar."""
    return current_app.extensions[EXTENSION]


def backoff_delay(attempt: int, base: float = BASE_DELAY_SECONDS, cap: float = MAX_DELAY_SECONDS) -> float:
    """Full-jitter backoff before retry number ``attempt`` (1-based): uniform in [0, min(cap, base·2^attempt)]."""
    return random.uniform(0, min(cap, base * (2 ** attempt)))


def retry_on_conflict(attempt: Callable[[], T], what: str, attempts: int = ATTEMPTS,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``attempt`` (one read-modify-write) until it does not raise ``Conflict``.

    ``what`` names the loop in the retry metric and in the final error.
    Raises ``Conflict`` after ``attempts`` conflicting tries; any other error
    propagates at once.
    """
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except Conflict:
            if number == attempts:
                CONFLICT_RETRIES.labels(what, "exhausted").inc()
                raise Conflict(f"{what}: still conflicting after {attempts} attempts") from None
            CONFLICT_RETRIES.labels(what, "retried").inc()
            sleep(backoff_delay(number))
    raise AssertionError("unreachable")


class _Turn:
    __slots__ = ("lock", "__weakref__")

    def __init__(self):
        self.lock = threading.Lock()


_TURNS: "weakref.WeakValueDictionary[str, _Turn]" = weakref.WeakValueDictionary()  # key -> its turn, while used
_TURNS_LOCK = threading.Lock()


@contextmanager
def in_turn(key: str, wait_seconds: float = TURN_WAIT_SECONDS) -> Iterator[bool]:
    """Let this process's read-modify-writes of ``key`` take turns: one at a time (yields True), or, after
    ``wait_seconds`` of waiting, alongside the one in progress (False).

    An economy, never a guarantee: writers of one key in one process would otherwise each read and decode it,
    and all but one conflict on its ETag and start again (measured: four concurrent creates on a board of
    1,000 tasks took a worker's heap from 67 to 88 MB, bench/results/memory-phases.md). Other processes and
    replicas still meet on the ETag, which is what keeps every write safe."""
    with _TURNS_LOCK:
        turn = _TURNS.get(key)
        if turn is None:
            turn = _TURNS[key] = _Turn()
    held = turn.lock.acquire(timeout=wait_seconds)
    try:
        yield held
    finally:
        if held:
            turn.lock.release()


def clear_for_good(gone: list[tuple[str, dict]], ttl_seconds: int, what: str) -> None:
    """Make these keys go: each is overwritten with its given empty value at the version just read, expiring
    after ``ttl_seconds`` — never deleted, because on Redis a deleted key is no fence (an ETag-guarded write to
    a missing key succeeds: components-contrib state/redis ``setDefaultQuery``), so a request or handler that
    read one just before would write it back for good; from this write on, its guarded write fails. An ETag-less
    write fails on Redis over a key once written first-write, hence the version. One written in between makes
    its batch conflict and run again (it expires all the same: ``Upsert.expires_anyway``). ``GatewayError``."""
    gw = gateway()

    def attempt(batch: list[tuple[str, dict]]) -> None:
        read = {it.key: it for it in gw.get_many([key for key, _ in batch])}
        gw.transact([Upsert(key, value, etag=read[key].etag if read[key].exists else None,
                            ttl_seconds=ttl_seconds, expires_anyway=True) for key, value in batch])

    for start in range(0, len(gone), CLEARED_PER_TRANSACTION):
        retry_on_conflict(lambda batch=gone[start:start + CLEARED_PER_TRANSACTION]: attempt(batch), what)
