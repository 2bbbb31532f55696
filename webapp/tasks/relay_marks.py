"""The relay's marks: boards whose documents the relay must go through (``outbox-pending-boards``), and the
marks a process owes when its sidecar went away right after a commit.

A change marks its board when its row (or its holder's "My tasks" entry) kept losing its write, or its events
could not be published; the relay (``background/relay.py``) then repairs rows and publishes from the documents.
When the mark cannot be written either, the board is kept here as *owed*: the request's own announce takes it
(``take_owed_mark``) and marks the board, or holds the mark until the sidecar answers (``outbox.publish_later``).
"""

from __future__ import annotations

import threading
import uuid

from .. import state_lists
from ..dapr_gateway import GatewayError
from ..keys import PENDING_BOARDS

MAX_MARKS = 100_000  # the list's bound: the oldest marks fall off (the sweep's walk still reaches their boards)
_OWED_MARKS: set[str] = set()  # boards whose row and mark both failed after a commit (``take_owed_mark``)
_OWED_LOCK = threading.Lock()


def mark_pending(board_id: str) -> None:
    """Have the relay go through the board's documents (events not yet out, or a row that missed its write).

    Each mark carries a new token, replacing the board's earlier mark: a relay that read the earlier one
    removes only that, so a mark made while it was going through the board is kept for the next run.
    Raises ``GatewayError`` when the list cannot be written.
    """
    mark = {"id": board_id, "mark": uuid.uuid4().hex}
    state_lists.update(PENDING_BOARDS, lambda marks: [mark, *[m for m in marks if m["id"] != board_id]][:MAX_MARKS])


def mark_or_owe(board_id: str) -> None:
    """Mark the board for the relay; when the sidecar is gone, owe the mark (``take_owed_mark``). Raises nothing."""
    try:
        mark_pending(board_id)
    except GatewayError:
        with _OWED_LOCK:
            _OWED_MARKS.add(board_id)  # the sidecar is gone: the caller holds the mark (take_owed_mark)


def take_owed_mark(board_id: str) -> bool:
    """Whether a change on the board in this process could write neither its row nor the relay's mark (the
    sidecar went away after its commit) since the last call; the caller then makes the mark or holds it."""
    with _OWED_LOCK:
        owed = board_id in _OWED_MARKS
        _OWED_MARKS.discard(board_id)
    return owed
