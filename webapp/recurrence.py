"""Calendar-correct recurrence. No I/O.

Occurrences are counted from the series' first due time (its *anchor*) in the
user's wall clock, so month ends clamp without drifting (Jan 31 → Feb 28/29 →
Mar 31) and 09:00 stays 09:00 across DST changes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from dateutil.relativedelta import relativedelta

from .timezones import OutOfRange, in_range, zone

STEPS = {
    "daily": relativedelta(days=1),
    "weekly": relativedelta(weeks=1),
    "monthly": relativedelta(months=1),
    "yearly": relativedelta(years=1),
}


def occurrence(anchor_utc: datetime, recurrence: str, n: int, tz_name: str) -> datetime:
    """The ``n``-th occurrence (0 = the anchor) as an aware UTC time; ``ValueError`` for an unknown rule,
    ``OutOfRange`` if it falls outside the supported range (``timezones.EARLIEST``..``LATEST``)."""
    if recurrence not in STEPS:
        raise ValueError(f"not a recurrence: {recurrence!r}")
    tz = zone(tz_name)
    try:
        local_anchor = anchor_utc.astimezone(tz).replace(tzinfo=None)  # wall clock
        local = local_anchor + STEPS[recurrence] * n
    except (OverflowError, ValueError):  # past year 9999 or before year 1
        raise OutOfRange() from None
    # Attach the zone to the wall-clock time. A time skipped by a DST jump
    # (e.g. 02:30 on a spring-forward night) resolves to the same instant as
    # the equivalent standard time, which zoneinfo gives us via fold=0.
    due = local.replace(tzinfo=tz)
    if not in_range(due):
        raise OutOfRange()
    return due.astimezone(timezone.utc)


def next_due(anchor_utc: datetime, recurrence: str, n: int, tz_name: str) -> tuple[datetime, int]:
    """The occurrence after the ``n``-th: (its UTC due time, its number); ``OutOfRange`` past the range."""
    return occurrence(anchor_utc, recurrence, n + 1, tz_name), n + 1
