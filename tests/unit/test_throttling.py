"""The throttling's pure parts: which client an address counts as, and the two counts' rules."""

from __future__ import annotations

import pytest

from webapp.auth.throttling import Limits, Slowed, Throttled, account_counted, account_wait, client_counted, client_of

LIMITS = Limits(client_attempts=5, window_seconds=900, account_free_attempts=20, account_max_delay_seconds=60)


@pytest.mark.parametrize("address, client", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:7:42::1", "2001:db8:7:42::/64"),
    ("2001:db8:7:42:ffff:1:2:3", "2001:db8:7:42::/64"),
    ("2001:DB8:7:43::1", "2001:db8:7:43::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client seen through a dual-stack socket
    ("fe80::1%eth0", "fe80::/64"),
    ("-", "-"),  # no address known: one client
])
def test_a_client_is_an_ipv4_address_or_an_ipv6_64(address, client):
    assert client_of(address) == client


def test_a_client_has_five_attempts_per_window_from_the_first():
    record = None
    for _ in range(5):
        record = client_counted(record, 1000.0, LIMITS)
    assert record == {"count": 5, "first_at": 1000.0}
    with pytest.raises(Throttled):
        client_counted(record, 1899.0, LIMITS)
    assert client_counted(record, 1900.0, LIMITS) == {"count": 1, "first_at": 1900.0}


def test_an_account_takes_twenty_free_attempts_then_waits_doubling_up_to_a_minute():
    record = None
    for _ in range(20):
        assert account_wait(record, 1000.0, LIMITS) == 0
        record = account_counted(record, 1000.0, LIMITS)
    waits = []
    now = 1000.0
    for _ in range(8):
        waits.append(account_wait(record, now, LIMITS))
        with pytest.raises(Slowed) as slowed:
            account_counted(record, now, LIMITS)
        assert slowed.value.seconds == waits[-1]
        now += waits[-1]
        record = account_counted(record, now, LIMITS)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert account_wait({"count": 10_000, "last_at": now}, now + 0.5, LIMITS) == 60  # 59.5 s, rounded up


def test_an_account_count_ends_after_a_quiet_window():
    busy = {"count": 500, "last_at": 1000.0}
    assert account_wait(busy, 1899.0, LIMITS) == 0  # past the cap already
    assert account_counted(busy, 1900.0, LIMITS) == {"count": 1, "last_at": 1900.0}
