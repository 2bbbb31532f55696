"""Where a notification stands by its claim and its done marker (webapp/notification_service/delivery.py): pure, no sidecar."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.dapr_gateway import Item
from webapp.notification_service.delivery import CLAIM_STALE_AFTER, CLAIM_TTL_SECONDS, RECORD_TTL_SECONDS, status_of

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
MISSING_CLAIM = Item("notification:n1", None, None)
MISSING_DONE = Item("notification-done:n1", None, None)


def claim(age: timedelta) -> Item:
    return Item("notification:n1", {"notification_id": "n1", "status": "claimed",
                                    "claimed_at": (NOW - age).isoformat()}, "1")


def done(status: str) -> Item:
    return Item("notification-done:n1", {"notification_id": "n1", "status": status}, "1")


@pytest.mark.parametrize("claim_item, done_item, expected", [
    (MISSING_CLAIM, MISSING_DONE, "new"),
    (claim(timedelta(seconds=1)), MISSING_DONE, "claimed"),
    (claim(CLAIM_STALE_AFTER), MISSING_DONE, "stale"),  # a dead attempt: taken over
    (claim(CLAIM_STALE_AFTER * 10), done("sent"), "sent"),  # an old claim with its marker is done, never stale
    (claim(CLAIM_STALE_AFTER * 10), done("delivered"), "delivered"),  # only the announcement is left
    (Item("notification:n1", {"notification_id": "n1", "status": "sent"}, "4"), MISSING_DONE, "sent"),  # older layout
])
def test_the_done_marker_wins_over_the_claim(claim_item, done_item, expected):
    assert status_of(claim_item, done_item, NOW) == expected


def test_a_claim_outlives_the_marker_written_after_it():
    assert CLAIM_TTL_SECONDS - RECORD_TTL_SECONDS >= 86400
