"""The periodic work's leases and the relay's bounds: a lease whose TTL was never set (a crash between Redis's
create and its EXPIRE) is taken over once its own expiry has passed, and a relay run stops at the first board
it could not publish, after its time budget, or at its number of boards, so it never overlaps the next run."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import Browser, eventually
from webapp import background, state_lists
from webapp.background import leases, relay
from webapp.dapr_gateway import Unavailable
from webapp.tasks import outbox, relay_marks, service, store
from webapp.tasks.model import TaskFields


def _stuck_lease(gateway, name: str, value: dict) -> None:
    gateway.delete(leases.lease_key(name))
    gateway.create(leases.lease_key(name), value)  # no TTL: what a crash before the create's EXPIRE leaves


@pytest.mark.parametrize("value", [
    {"host": "gone", "pid": 1, "at": "2026-01-01T00:00:00+00:00", "expires_at": "2026-01-01T00:00:08+00:00"},
    {"host": "gone", "pid": 1, "at": "2026-01-01T00:00:00+00:00"},  # written before leases carried an expiry
])
def test_a_lease_left_without_a_ttl_is_taken_over_once_its_own_expiry_passed(app, gateway, value):
    """A lease of its own name: the stack's relay (every 10 s) would take over a stuck "relay" lease itself."""
    name, work = f"test-{uuid.uuid4().hex}", lambda: {"worked": 1}
    with app.app_context():
        _stuck_lease(gateway, name, value)
        assert leases.leased(name, 8, work) == {"leased": 1, "worked": 1}
        taken = gateway.get(leases.lease_key(name)).value
        assert taken["host"] != "gone" and datetime.fromisoformat(taken["expires_at"]) > datetime.now(timezone.utc)
        assert leases.leased(name, 8, work) == {"leased": 0}  # and it is held again
        gateway.delete(leases.lease_key(name))


def test_a_live_lease_is_not_taken_over(app, gateway):
    with app.app_context():
        expires = datetime.now(timezone.utc) + timedelta(minutes=5)
        _stuck_lease(gateway, "relay", {"host": "alive", "pid": 1, "expires_at": expires.isoformat()})
        assert background.run_periodic("relay") == {"leased": 0}
        assert gateway.get(leases.lease_key("relay")).value["host"] == "alive"
        gateway.delete(leases.lease_key("relay"))


@pytest.fixture
def three_pending_boards(app, gateway, monkeypatch):
    """Three users whose new task's event the broker refused: their boards are marked for the relay. The
    relay's lease is held meanwhile, so the stack's own relay leaves them to the test."""
    with app.app_context():
        eventually(lambda: not state_lists.read(relay.PENDING)[0], timeout=60)
        gateway.delete(leases.lease_key("relay"))
        gateway.create(leases.lease_key("relay"), {"host": "the test"}, ttl_seconds=120)
    boards = []
    for n in range(3):
        browser = Browser(app.test_client())
        browser.register()
        with browser.client.session_transaction() as session:
            boards.append(session["profile"]["id"])
    with app.app_context():
        def refused(events):
            raise Unavailable("publish: the broker is down")
        with monkeypatch.context() as broker_down:
            broker_down.setattr(outbox, "publish", refused)
            for n, board in enumerate(boards):
                service.create(board, TaskFields(f"Stranded {n}"))
        assert sorted(e["id"] for e in state_lists.read(relay.PENDING)[0]) == sorted(boards)
        yield boards
        relay.run()
        gateway.delete(leases.lease_key("relay"))


def test_a_relay_run_stops_at_the_first_board_the_broker_refuses(app, gateway, monkeypatch, three_pending_boards):
    attempts = []

    def broker_down(topic, data, metadata=None):
        attempts.append(data["event_id"])
        raise Unavailable("publish: the broker is down")
    with app.app_context():
        monkeypatch.setattr(gateway, "publish", broker_down)
        assert relay.run() == {"users": 1, "events": 0}
        assert len(attempts) == 1  # not one timeout per board: the run ends within its lease
        monkeypatch.undo()
        assert sorted(e["id"] for e in state_lists.read(relay.PENDING)[0]) == sorted(three_pending_boards)


def test_a_relay_run_is_bounded_by_its_time_budget_and_its_number_of_boards(app, gateway, three_pending_boards):
    with app.app_context():
        assert relay.run(budget_seconds=0) == {"users": 1, "events": 1}  # no second board after the budget
        assert relay.run(max_boards=1) == {"users": 1, "events": 1}
        assert relay.run() == {"users": 1, "events": 1}
        assert state_lists.read(relay.PENDING)[0] == []


def test_a_board_marked_again_while_the_relay_goes_through_it_stays_marked(app, owner, monkeypatch):
    """A request whose publish failed marks the board while a relay run is flushing it: the next run must
    still go through it (else its event waits for the sweep's walk)."""
    with app.app_context():
        relay_marks.mark_pending(owner)
        flush = relay.flush_board

        def flush_with_a_new_mark(board_id):
            done = flush(board_id)
            relay_marks.mark_pending(board_id)  # the concurrent request's mark, after the flush read the board
            return done

        monkeypatch.setattr(relay, "flush_board", flush_with_a_new_mark)
        relay.run()
        monkeypatch.undo()
        assert [m for m in state_lists.read(relay_marks.PENDING_BOARDS)[0] if m["id"] == owner]
        relay.run()
        assert not [m for m in state_lists.read(relay_marks.PENDING_BOARDS)[0] if m["id"] == owner]
