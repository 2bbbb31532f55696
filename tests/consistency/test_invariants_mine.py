"""The "My tasks" invariant on made-up stored states (no stack): it catches a missing, a stale and a ghost entry
and passes a consistent state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from webapp.my_tasks import entries
from webapp.tasks.model import Task

from .invariants_mine import my_tasks
from .store_view import Snapshot
from .test_invariants import ALICE, BOARD, BOB, doc

pytestmark = pytest.mark.consistency


def _snap(mine: dict, **task) -> Snapshot:
    stored = doc(**task)
    return Snapshot(tasks={stored["id"]: stored}, boards={BOARD: {"id": BOARD, "members": {ALICE: {}, BOB: {}}}},
                    memberships={ALICE: {BOARD: {}}, BOB: {BOARD: {}}}, mine=mine)


def _entry(**task) -> list:
    return entries.live_entry(Task.from_dict(doc(**task)))


def test_a_consistent_state_passes():
    assert my_tasks([], _snap({ALICE: {"rows": {"t1": _entry()}}, BOB: {}})) == []
    assigned = {ALICE: {"rows": {"t1": entries.gone_entry(replace(Task.from_dict(doc()), revision=2))}},
                BOB: {"rows": {"t1": _entry(assignee=BOB, revision=2)}}}
    assert my_tasks([], _snap(assigned, assignee=BOB, revision=2)) == []


def test_a_missing_a_stale_and_a_ghost_entry_are_caught():
    missing = my_tasks([], _snap({ALICE: {}, BOB: {}}))
    assert [v.detail.split(":")[0] for v in missing] == ["missing entry"]
    stale = my_tasks([], _snap({ALICE: {"rows": {"t1": _entry(title="old")}}, BOB: {}}, title="new"))
    assert [v.detail.split(":")[0] for v in stale] == ["stale entry"]
    ghost = my_tasks([], _snap({ALICE: {"rows": {"t1": _entry()}}, BOB: {"rows": {"t1": _entry()}}}))
    assert [(v.detail.split(":")[0], v.users) for v in ghost] == [("ghost entry", [BOB])]
