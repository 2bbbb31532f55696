"""Converting between the user's wall clock and stored UTC, within the supported range. No I/O.

Due and reminder times are stored in UTC between ``EARLIEST`` and ``LATEST``
(years 1970 to 9000): far enough from Python's year 1 and 9999 that converting
an accepted time to any zone, or stepping a series a year on, never overflows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TZ = "UTC"
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9001, 1, 1, tzinfo=timezone.utc) - timedelta(microseconds=1)
RANGE_TEXT = "between 1970 and 9000 (UTC)"
# ISO 8601 times surely in the range whatever their offset (the API documents it): years 1970 to 9000, but not
# 1 Jan 1970 ahead of UTC nor 31 Dec 9000 behind it (those are still accepted while in the range in UTC).
IN_RANGE_PATTERN = r"^(?!1970-01-01T[^+]*\+(?!00:00))(?!9000-12-31T.*-)(?:19[7-9][0-9]|[2-8][0-9]{3}|9000)-"


class OutOfRange(ValueError):
    """A time outside ``EARLIEST``..``LATEST`` (or one that cannot even be converted to UTC)."""

    def __init__(self):
        super().__init__(f"Choose a time {RANGE_TEXT}.")


@lru_cache(maxsize=1)
def choices() -> list[tuple[str, str]]:
    """(value, label) pairs of every IANA zone, for a select field."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones)]


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def in_range(value: datetime) -> bool:
    """Whether an aware time lies between ``EARLIEST`` and ``LATEST``."""
    try:
        return EARLIEST <= value.astimezone(timezone.utc) <= LATEST
    except OverflowError:  # before year 1 or after 9999 in UTC
        return False


def to_utc(local: datetime | None, tz_name: str | None) -> datetime | None:
    """A wall-clock time in zone ``tz_name`` (or an aware time) as UTC; ``OutOfRange`` outside the range."""
    if local is None:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(tz_name))
    if not in_range(local):
        raise OutOfRange()
    return local.astimezone(timezone.utc)


@lru_cache(maxsize=1024)
def local_text(value: datetime | None, tz_name: str | None) -> str:
    """A stored UTC time as shown in zone ``tz_name``, e.g. 'Mon 3 Mar 2025, 14:05' ('' for None).

    Kept for the last 1,024 (time, zone) pairs (about 150 KB): a board shows the same due times and activity on
    every reload.
    """
    local = to_local(value, tz_name)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}" if local else ""


def to_local(value: datetime | None, tz_name: str | None) -> datetime | None:
    """A stored UTC time in the user's zone (aware); one the zone cannot hold stays in the offset it has."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(zone(tz_name))
    except OverflowError:  # stored outside the range (year 1 at +14:00, 9999-12-31 in New York): show it as is
        return value
