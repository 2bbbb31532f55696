"""The one accessor for the app's Dapr gateway, and the one optimistic-concurrency retry.

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

from .dapr_gateway import Conflict, DaprGateway
from .metrics import CONFLICT_RETRIES

T = TypeVar("T")
EXTENSION = "dapr"
ATTEMPTS = 8
BASE_DELAY_SECONDS = 0.005
MAX_DELAY_SECONDS = 0.25


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
