"""Dead letters: the events subscribers could not process, kept for the operators (pages: ``admin/routes.py``)."""

from __future__ import annotations

from datetime import datetime, timezone

from . import state_lists
from .keys import DEAD_LETTERS

LIMIT = 500


def record(envelope: dict) -> None:
    """Keep a dead-lettered CloudEvent (called by the dead-letter subscription)."""
    topic = str(envelope.get("topic") or "")
    entry = {
        "id": str(envelope["id"]),
        "topic": topic,
        "original_topic": topic.removesuffix("-deadletter"),
        "type": envelope.get("type"),
        "data": envelope.get("data"),
        "received_at": datetime.now(timezone.utc).isoformat(),
        "attempts": 1,
    }

    def add(items: list[dict]) -> list[dict]:
        previous = next((i for i in items if i["id"] == entry["id"]), None)
        if previous:
            entry["attempts"] = previous.get("attempts", 1) + 1
        return [entry, *(i for i in items if i["id"] != entry["id"])][:LIMIT]

    state_lists.update(DEAD_LETTERS, add)
