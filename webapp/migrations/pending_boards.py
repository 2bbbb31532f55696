"""The relay's list of pending boards moved from its old key ``outbox-pending-users`` to ``outbox-pending-boards``."""

from __future__ import annotations

from .. import state_lists
from ..dapr_gateway import Conflict
from ..keys import PENDING_BOARDS, PENDING_BOARDS_LEGACY
from ..sidecar import gateway

NAME = "pending-boards"


def run() -> int:
    """Add the old list's marks to the new one, then delete the old list; returns the marks moved
    (``GatewayError``)."""
    gw = gateway()
    old = gw.get(PENDING_BOARDS_LEGACY)
    if not old.exists:
        return 0
    marks = list((old.value or {}).get("items") or [])

    def merged(items: list[dict]) -> list[dict] | None:
        known = {m["id"] for m in items}
        new = [m for m in marks if m["id"] not in known]
        return [*items, *new] if new else None

    state_lists.update(PENDING_BOARDS, merged)
    try:
        gw.delete(PENDING_BOARDS_LEGACY, etag=old.etag)
    except Conflict:
        pass  # an old replica marked a board meanwhile: the next run moves it
    return len(marks)


def remaining() -> int:
    """1 while the old list is stored, else 0."""
    return int(gateway().get(PENDING_BOARDS_LEGACY).exists)
