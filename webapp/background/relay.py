"""The outbox relay, triggered by the `relay` input binding every 10 s: publishes the outboxes of the boards
whose request could not publish (the broker was down), oldest mark first."""

from __future__ import annotations

import time

from .. import state_lists
from ..keys import PENDING_BOARDS
from ..tasks import store
from ..tasks.outbox import flush_board

PENDING = PENDING_BOARDS
BUDGET_SECONDS = 2.0  # no new board after this; with one board's calls (publish deadline 5 s) under the lease
MAX_BOARDS = 200  # per relay run; the rest waits for the next


def run(budget_seconds: float = BUDGET_SECONDS, max_boards: int = MAX_BOARDS) -> dict[str, int]:
    """Publish the outboxes of boards marked pending, oldest mark first (``GatewayError`` on store trouble).

    A run ends well within its lease: at the first board whose events the broker refused (it is down: the
    rest waits for the next run), at ``max_boards``, and starts no board after ``budget_seconds``.
    """
    items, _ = state_lists.read(PENDING)
    started = time.monotonic()
    sent, visited, flushed = 0, 0, set()
    for entry in reversed(items[-max_boards:]):
        if visited and time.monotonic() - started > budget_seconds:
            break
        visited += 1
        done, left = flush_board(entry["id"])
        sent += done
        if left:
            break
        flushed.add((entry["id"], entry.get("mark")))
    if flushed:  # only the marks read: one made meanwhile (a request's publish failed during the flush) stays
        state_lists.update(PENDING, lambda xs: [x for x in xs if (x["id"], x.get("mark")) not in flushed])
    return {"users": visited, "events": sent}
