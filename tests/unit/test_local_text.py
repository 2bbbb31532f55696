"""A stored time as the user reads it: the same text whether or not it was formatted before."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from webapp import timezones


def _formatted(value, tz):
    local = timezones.to_local(value, tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}" if local else ""


def test_a_time_reads_the_same_in_every_zone_and_on_every_call():
    times = [datetime(2025, 3, 30, 0, 59, tzinfo=timezone.utc), datetime(2025, 3, 30, 1, 0, tzinfo=timezone.utc),
             datetime(2025, 3, 3, 14, 5), datetime(9000, 12, 31, 23, 59, tzinfo=timezone.utc),
             datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=5)))]
    for tz in ("UTC", "Europe/London", "Pacific/Kiritimati", "America/New_York", "Not/AZone", None):
        for value in times:
            first = timezones.local_text(value, tz)
            assert first == _formatted(value, tz) == timezones.local_text(value, tz)
    assert timezones.local_text(datetime(2025, 3, 3, 14, 5, tzinfo=timezone.utc), "UTC") == "Mon 3 Mar 2025, 14:05"


def test_no_time_reads_as_nothing():
    assert timezones.local_text(None, "UTC") == ""
