"""The one optimistic-concurrency helper: bounded, jittered, one Conflict when exhausted, counted."""

import threading

import pytest

from webapp.dapr_gateway import Conflict, Unavailable
from webapp.metrics import CONFLICT_RETRIES
from webapp.sidecar import backoff_delay, in_turn, retry_on_conflict


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



def test_writers_of_one_key_take_turns_and_of_another_key_do_not_wait_for_them():
    """in_turn: one read-modify-write of a key at a time in a process; another key's goes on meanwhile."""
    inside, most, lock = [0], [0], threading.Lock()
    first_in, release = threading.Event(), threading.Event()

    def writer() -> None:
        with in_turn("index:a") as held:
            assert held
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            first_in.set()
            release.wait(5)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    assert first_in.wait(5)
    with in_turn("index:b", wait_seconds=5) as held:
        assert held and inside[0] == 1  # in while a writer of index:a still holds its turn
    release.set()
    for t in threads:
        t.join()
    assert most[0] == 1  # the four writers of index:a never overlapped


def test_a_turn_not_had_in_time_lets_the_writer_go_on_beside_the_one_in_progress():
    release, entered = threading.Event(), threading.Event()

    def holder() -> None:
        with in_turn("k"):
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert entered.wait(5)
    with in_turn("k", wait_seconds=0.01) as held:
        assert held is False  # went on without the turn (the ETag still guards its write)
    release.set()
    thread.join()
    with in_turn("k", wait_seconds=0.01) as held:
        assert held is True  # and the turn was not left taken
