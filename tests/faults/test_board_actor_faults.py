"""R6–R7: the board actor's faults on the real stack. A change on a shared board still lands, once, when the
actor cannot take its turn: placement is down (R6) or the actor's host hangs (R7); readiness never depends on
placement. Each test puts the stack back as it found it.

Figures are printed (run with -s to see them) for the closing note; the assertions are the guarantees.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.request

import pytest

from tests.conftest import eventually
from tests.integration.boards import board_task, make_team
from tests.integration.test_board_actor import calls, move, row_of
from webapp.tasks.rows import Summary, row_revision
from webapp.keys import index_key, task_key


@pytest.fixture
def team(app):
    return make_team(app)


def ready(stack) -> int:
    try:
        with urllib.request.urlopen(stack.url() + "/readyz", timeout=5) as resp:
            return resp.status
    except OSError as err:
        return getattr(err, "code", 0)


def moved_once(gateway, team, status: str) -> bool:
    """The task is at ``status``, and its row in the board's index carries the document's revision."""
    document = gateway.get(task_key(team.task_id)).value
    row = row_of(gateway, team.board_id, team.task_id)
    return document["status"] == status and row_revision(row) == document["revision"] \
        and Summary.from_row(team.task_id, row).status == status


def back_in_turns(team, gateway) -> bool:
    """A move on the board is taken in the actor's turn again (placement and the host are back)."""
    turns = calls("turn")
    status = "pending" if gateway.get(task_key(team.task_id)).value["status"] != "pending" else "in_progress"
    assert move(team.owner, team.task_id, status, team.board_id).status_code == 302
    return calls("turn") > turns


def test_r6_placement_down_a_move_and_a_create_still_land_once_and_readiness_stays(stack, team, gateway):
    revision = gateway.get(task_key(team.task_id)).value["revision"]
    stack.stop("placement")
    try:
        assert ready(stack) == 200
        turns, fallbacks = calls("turn"), calls("fallback")
        started = time.monotonic()
        assert move(team.editor, team.task_id, "in_progress", team.board_id).status_code == 302
        print(f"\nR6: move with placement down answered in {time.monotonic() - started:.2f}s "
              f"(turns +{calls('turn') - turns:.0f}, fallbacks +{calls('fallback') - fallbacks:.0f})")
        assert calls("turn") - turns + calls("fallback") - fallbacks == 1
        assert moved_once(gateway, team, "in_progress")
        assert gateway.get(task_key(team.task_id)).value["revision"] == revision + 1
        created = board_task(team.editor, team.board_id, title="Made while placement is down")
        assert gateway.get(index_key(team.board_id)).value["ids"].count(created) == 1
        assert row_revision(row_of(gateway, team.board_id, created)) == 1
        assert ready(stack) == 200
    finally:
        stack.restart("placement")
    started = time.monotonic()
    eventually(lambda: back_in_turns(team, gateway), timeout=90, interval=1)
    print(f"R6: moves taken in turns again {time.monotonic() - started:.1f}s after placement restarted")


def test_r7_the_actors_host_hangs_a_move_falls_back_and_lands_once(stack, team, gateway):
    eventually(lambda: back_in_turns(team, gateway), timeout=60, interval=1)  # the actor is placed and active
    revision = gateway.get(task_key(team.task_id)).value["revision"]
    status = "completed" if gateway.get(task_key(team.task_id)).value["status"] != "completed" else "pending"
    host = stack.procs["taskboard"].pid  # the only taskboard instance: every board actor's host
    os.killpg(host, signal.SIGSTOP)
    try:
        turns, fallbacks = calls("turn"), calls("fallback")
        started = time.monotonic()
        assert move(team.editor, team.task_id, status, team.board_id).status_code == 302
        print(f"\nR7: move with the actor's host hung answered in {time.monotonic() - started:.2f}s "
              f"(turns +{calls('turn') - turns:.0f}, fallbacks +{calls('fallback') - fallbacks:.0f})")
        assert (calls("turn") - turns, calls("fallback") - fallbacks) == (0, 1)
        assert moved_once(gateway, team, status)
        assert gateway.get(task_key(team.task_id)).value["revision"] == revision + 1
    finally:
        os.killpg(host, signal.SIGCONT)
    eventually(lambda: ready(stack) == 200, timeout=60, interval=0.5)
    eventually(lambda: back_in_turns(team, gateway), timeout=90, interval=1)
    assert row_revision(row_of(gateway, team.board_id, team.task_id)) == \
        gateway.get(task_key(team.task_id)).value["revision"]
