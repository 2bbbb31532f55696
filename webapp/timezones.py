"""Converting between the user's wall clock and stored UTC. No I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TZ = "UTC"


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


def to_utc(local: datetime | None, tz_name: str | None) -> datetime | None:
    """A naive wall-clock time in the user's zone as an aware UTC time."""
    if local is None:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(tz_name))
    return local.astimezone(timezone.utc)


def to_local(value: datetime | None, tz_name: str | None) -> datetime | None:
    """A stored UTC time in the user's zone (aware)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone(tz_name))
