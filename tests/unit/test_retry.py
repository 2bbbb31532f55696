"""The one optimistic-concurrency helper: bounded, jittered, one Conflict when exhausted, counted."""

import pytest

from webapp.dapr_gateway import Conflict, Unavailable
from webapp.metrics import CONFLICT_RETRIES
from webapp.sidecar import backoff_delay, retry_on_conflict


def _counter(loop: str, outcome: str) -> float:
    return CONFLICT_RETRIES.labels(loop, outcome)._value.get()


def test_returns_the_first_attempt_that_does_not_conflict():
    answers = iter([Conflict("a"), Conflict("b"), "done"])
    delays = []

    def attempt():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    before = _counter("unit-ok", "retried")
    assert retry_on_conflict(attempt, "unit-ok", sleep=delays.append) == "done"
    assert len(delays) == 2
    assert _counter("unit-ok", "retried") == before + 2


def test_gives_up_with_one_conflict_after_the_bound():
    calls = []

    def attempt():
        calls.append(1)
        raise Conflict("always")

    with pytest.raises(Conflict, match="unit-exhausted: still conflicting after 4 attempts"):
        retry_on_conflict(attempt, "unit-exhausted", attempts=4, sleep=lambda _: None)
    assert len(calls) == 4
    assert _counter("unit-exhausted", "exhausted") == 1


def test_other_errors_are_not_retried():
    calls = []

    def attempt():
        calls.append(1)
        raise Unavailable("sidecar down")

    with pytest.raises(Unavailable):
        retry_on_conflict(attempt, "unit-unavailable", sleep=lambda _: None)
    assert calls == [1]


def test_backoff_is_jittered_and_capped():
    delays = {round(backoff_delay(3), 6) for _ in range(50)}
    assert len(delays) > 10  # jitter: not one fixed delay
    assert all(0 <= d <= 0.005 * 8 for d in delays)
    assert all(backoff_delay(30) <= 0.25 for _ in range(50))
