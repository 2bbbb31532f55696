"""Where a notification stands, read from its record (webapp/notification_service): pure, no sidecar."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.dapr_gateway import Item
from webapp.notification_service.delivery import CLAIM_STALE_AFTER, delivery_name, record_status

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
NOTE = {"notification_id": "n1", "user_id": "u1", "task_id": None, "kind": "info", "message": "m"}


def record(**value):
    return Item("notification:n1", {**NOTE, **value}, "3")


@pytest.mark.parametrize("item, expected", [
    (Item("notification:n1", None, None), "new"),
    (record(status="claimed", claimed_at=NOW.isoformat()), "claimed"),
    (record(status="claimed", claimed_at=(NOW - CLAIM_STALE_AFTER + timedelta(seconds=1)).isoformat()), "claimed"),
    (record(status="claimed", claimed_at=(NOW - CLAIM_STALE_AFTER).isoformat()), "stale"),
    (record(status="delivered", claimed_at=(NOW - timedelta(days=1)).isoformat()), "delivered"),
    (record(status="sent"), "sent"),
    (record(sent_at=NOW.isoformat()), "sent"),  # written before claims existed
])
def test_record_status(item, expected):
    assert record_status(item, NOW) == expected


def test_every_delivery_gets_its_own_file_name():
    first, second = delivery_name(NOTE), delivery_name(NOTE)
    assert first != second
    assert first.startswith("u1-n1-") and first.endswith(".json")
