"""The one accessor for the app's Dapr gateway, the one optimistic-concurrency retry, and the one way to make
keys go that someone may still be writing (``clear_for_good``).

Every module gets the gateway through ``gateway()`` (like flaskr's ``get_db``),
never from ``current_app.extensions`` itself. Every read-modify-write loop goes
through ``retry_on_conflict``: bounded attempts, full-jitter exponential
backoff, one ``Conflict`` when exhausted, and a metric of the retries.
"""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

from flask import current_app

from .dapr_gateway import Conflict, DaprGateway, Upsert
from .metrics import CONFLICT_RETRIES

T = TypeVar("T")
EXTENSION = "dapr"
ATTEMPTS = 8
BASE_DELAY_SECONDS = 0.005
MAX_DELAY_SECONDS = 0.25
CLEARED_PER_TRANSACTION = 100


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
