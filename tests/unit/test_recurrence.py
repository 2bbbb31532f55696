"""Recurrence edge cases: month ends, leap years, DST, time zones."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from webapp.recurrence import next_due, occurrence

UTC = timezone.utc


def local(y, m, d, h=9, mi=0, tz="UTC"):
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def days(anchor, rule, count, tz="UTC"):
    return [occurrence(anchor, rule, n, tz).astimezone(ZoneInfo(tz)).date().isoformat() for n in range(count)]


def test_monthly_from_january_31_clamps_then_recovers():
    assert days(local(2025, 1, 31), "monthly", 4) == ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"]


def test_monthly_in_a_leap_year_gives_february_29():
    assert days(local(2024, 1, 31), "monthly", 3) == ["2024-01-31", "2024-02-29", "2024-03-31"]


def test_yearly_from_february_29():
    assert days(local(2024, 2, 29), "yearly", 5) == ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28",
                                                       "2028-02-29"]


def test_weekly_and_daily_cross_month_and_year_ends():
    assert days(local(2025, 12, 29), "weekly", 2) == ["2025-12-29", "2026-01-05"]
    assert days(local(2025, 12, 31), "daily", 2) == ["2025-12-31", "2026-01-01"]


@pytest.mark.parametrize("tz, before, after", [
    ("Europe/Paris", "2025-03-29", "2025-03-30"),      # spring forward
    ("Europe/Paris", "2025-10-25", "2025-10-26"),      # fall back
    ("America/New_York", "2025-03-08", "2025-03-09"),
])
def test_daily_wall_clock_time_survives_dst(tz, before, after):
    y, m, d = map(int, before.split("-"))
    first = local(y, m, d, 9, 0, tz)
    nxt, n = next_due(first, "daily", 0, tz)
    assert n == 1
    shown = nxt.astimezone(ZoneInfo(tz))
    assert (shown.date().isoformat(), shown.hour, shown.minute) == (after, 9, 0)
    assert (nxt - first).total_seconds() != 86400  # 23 or 25 hours of real time


def test_monthly_keeps_wall_clock_across_dst():
    first = local(2025, 1, 15, 8, 30, "Europe/Paris")  # UTC+1
    july = occurrence(first, "monthly", 6, "Europe/Paris").astimezone(ZoneInfo("Europe/Paris"))  # UTC+2
    assert (july.month, july.day, july.hour, july.minute) == (7, 15, 8, 30)


def test_time_in_a_dst_gap_resolves_to_a_real_instant():
    first = local(2025, 2, 30 - 2, 2, 30, "Europe/Paris")  # 28 Feb 02:30
    march = occurrence(first, "monthly", 1, "Europe/Paris")  # 28 Mar 02:30 exists; 30 Mar would not
    assert march.tzinfo is UTC or march.utcoffset().total_seconds() == 0


def test_same_instant_differs_by_zone():
    anchor = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)  # 1 Feb in Tokyo, 31 Jan in New York
    assert days(anchor, "monthly", 2, "Asia/Tokyo") == ["2025-02-01", "2025-03-01"]
    assert days(anchor, "monthly", 2, "America/New_York") == ["2025-01-31", "2025-02-28"]


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError):
        occurrence(local(2025, 1, 1), "fortnightly", 1, "UTC")
