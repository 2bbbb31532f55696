"""Task documents in their current shape: on a board, events in their own outbox items, times in UTC, and
tombstones without a TTL.

Older documents could lack ``board_id`` (stored before boards: they are on their owner's personal board), hold
their events whole in ``outbox`` (before outbox items), hold times with the offset they were entered in, and be
tombstones written with a TTL (the sweep now purges tombstones, so none may expire on its own). Each document
is rewritten with one write guarded by the ETag it was read at (its events' outbox items, new keys, first);
the board's index rows are then brought in line with the documents.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..background.sweep import owned_boards
from ..dapr_gateway import Conflict, Item, Upsert
from ..keys import index_key, memberships_key, outbox_key, task_key, user_key
from ..sidecar import gateway
from ..tasks.fields import FIELDS, DATETIME
from ..tasks.index import reindex
from ..tasks.model import SYSTEM_DATETIMES
from ..tasks.store import OUTBOX_TTL_SECONDS, PERSIST
from ..users_index import iter_user_pages

NAME = "task-documents"
TIMES = (*SYSTEM_DATETIMES, *(spec.name for spec in FIELDS if spec.kind is DATETIME))
KEYS_PER_READ = 500


def _utc(raw: str | None) -> str | None:
    """A stored time in UTC (unreadable or naive: as it was)."""
    try:
        parsed = datetime.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return raw
    return parsed.astimezone(timezone.utc).isoformat() if parsed and parsed.tzinfo else raw


def current_shape(document: dict, board_id: str) -> dict:
    """The document as the current code stores it (the same dict when nothing is old)."""
    changed = dict(document)
    changed["board_id"] = document.get("board_id") or board_id
    changed["outbox"] = [e["event_id"] if isinstance(e, dict) else e for e in document.get("outbox") or []]
    for name in TIMES:
        if document.get(name):
            changed[name] = _utc(document[name])
    return changed if changed != document else document


def is_old(document: dict) -> bool:
    """Whether a stored document has a shape the current code no longer reads."""
    return current_shape(document, document.get("board_id") or "") is not document


def _board_documents(board_id: str) -> tuple[dict, list[Item]]:
    """The board's index as read and its documents (bulk reads)."""
    gw = gateway()
    index = gw.get(index_key(board_id)).value or {}
    keys = [task_key(i) for i in index.get("ids", [])]
    items = [it for at in range(0, len(keys), KEYS_PER_READ) for it in gw.get_many(keys[at:at + KEYS_PER_READ])
             if it.exists and isinstance(it.value, dict)]
    return index, [it for it in items if (it.value.get("board_id") or it.value.get("owner")) == board_id]


def migrate_board(board_id: str) -> int:
    """Rewrite the board's documents of an old shape, and every tombstone without a TTL; returns how many."""
    gw = gateway()
    index, items = _board_documents(board_id)
    changed = 0
    for item in items:
        document = current_shape(item.value, board_id)
        if document is item.value and not item.value.get("deleted"):
            continue
        whole = [e for e in item.value.get("outbox") or [] if isinstance(e, dict)]
        if whole:
            gw.transact([Upsert(outbox_key(e["event_id"]), e, ttl_seconds=OUTBOX_TTL_SECONDS) for e in whole])
        try:
            gw.save(item.key, document, etag=item.etag, ttl_seconds=PERSIST if document.get("deleted") else None)
        except Conflict:
            continue  # changed meanwhile, by code that writes the current shape
        changed += 1
    if changed:
        _, items = _board_documents(board_id)
        reindex(board_id, items, index)
    return changed


def _boards() -> list[str]:
    """Every board a walk over users reaches (their personal boards and the shared boards they own)."""
    boards: dict[str, None] = {}
    for page in iter_user_pages():
        read = gateway().get_many([user_key(u) for u in page] + [memberships_key(u) for u in page])
        for user_id, account, memberships in zip(page, read[:len(page)], read[len(page):]):
            if account.exists:  # an id whose registration failed half-way has no tasks
                boards.update(dict.fromkeys(owned_boards(user_id, memberships.value)))
    return list(boards)


def run() -> int:
    """Migrate the documents of every board; returns the documents rewritten (``GatewayError``)."""
    return sum(migrate_board(board_id) for board_id in _boards())


def remaining() -> int:
    """The documents of an old shape still stored (tombstones' TTLs are not visible through Dapr: see the test)."""
    return sum(1 for board_id in _boards() for item in _board_documents(board_id)[1] if is_old(item.value))
