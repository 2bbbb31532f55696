"""A lease's expiry is part of its value: a lease the store kept past it (its TTL never set) has expired."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from webapp.background.leases import lease_expired

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expired", [
    ({"expires_at": (NOW + timedelta(seconds=5)).isoformat()}, False),
    ({"expires_at": (NOW - timedelta(seconds=1)).isoformat()}, True),
    ({"at": (NOW - timedelta(seconds=3)).isoformat()}, False),  # no expiry of its own: at + the lease's seconds
    ({"at": (NOW - timedelta(seconds=9)).isoformat()}, True),
    ({"expires_at": "not a time"}, True),
    ({}, True),
    (None, True),
])
def test_a_lease_has_expired_when_its_own_expiry_is_past(value, expired):
    assert lease_expired(value, NOW, 8) is expired
