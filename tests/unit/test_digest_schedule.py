"""The digest's next firing: at the chosen local time, in the user's zone, across DST changes."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from webapp import keys
from webapp.background import digests, overdue, reminders
from webapp.dapr_gateway import Item

UTC = timezone.utc


def test_job_names_are_one_per_thing():
    assert digests.job_name("u1") == "digest-u1"
    assert overdue.job_name("t1") == "overdue-t1"
    assert reminders.job_name("t1") == "reminder-t1"


def test_the_next_firing_is_today_if_still_ahead_else_tomorrow():
    eight = time(8, 0)
    assert digests.next_firing(datetime(2026, 6, 1, 5, 0, tzinfo=UTC), eight, "UTC") == \
        datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert digests.next_firing(datetime(2026, 6, 1, 8, 0, tzinfo=UTC), eight, "UTC") == \
        datetime(2026, 6, 2, 8, 0, tzinfo=UTC)


def test_berlin_stays_at_eight_local_across_both_dst_changes():
    eight = time(8, 0)
    # Spring: 29 March 2026 CET (+1) -> CEST (+2).
    before = digests.next_firing(datetime(2026, 3, 28, 7, 30, tzinfo=UTC), eight, "Europe/Berlin")
    assert before == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST on the day of the change
    assert digests.next_firing(datetime(2026, 3, 27, 8, 0, tzinfo=UTC), eight, "Europe/Berlin") == \
        datetime(2026, 3, 28, 7, 0, tzinfo=UTC)  # 08:00 CET the day before
    # Autumn: 25 October 2026 CEST (+2) -> CET (+1).
    assert digests.next_firing(datetime(2026, 10, 24, 6, 0, tzinfo=UTC), eight, "Europe/Berlin") == \
        datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert digests.next_firing(datetime(2026, 10, 23, 7, 0, tzinfo=UTC), eight, "Europe/Berlin") == \
        datetime(2026, 10, 24, 6, 0, tzinfo=UTC)


def test_each_firing_schedules_the_next_at_the_same_local_time_through_a_dst_change():
    at, zone = time(8, 0), "America/New_York"  # EST -> EDT on 8 March 2026, back on 1 November 2026
    firing = datetime(2026, 3, 6, 13, 0, tzinfo=UTC)
    seen = []
    for _ in range(4):
        firing = digests.next_firing(firing, at, zone)
        seen.append(firing)
    assert seen == [datetime(2026, 3, 7, 13, 0, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
                    datetime(2026, 3, 9, 12, 0, tzinfo=UTC), datetime(2026, 3, 10, 12, 0, tzinfo=UTC)]
    assert digests.next_firing(datetime(2026, 10, 31, 12, 0, tzinfo=UTC), at, zone) == \
        datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_a_local_time_skipped_or_repeated_by_dst_fires_once():
    half_past_two = time(2, 30)
    # Does not exist in Berlin on 29 March 2026: at the evening-before offset, 02:30 CET = 01:30 UTC.
    assert digests.next_firing(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), half_past_two, "Europe/Berlin") == \
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Exists twice on 25 October 2026: the first, 02:30 CEST = 00:30 UTC, and the next day's after it.
    first = digests.next_firing(datetime(2026, 10, 24, 12, 0, tzinfo=UTC), half_past_two, "Europe/Berlin")
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert digests.next_firing(first, half_past_two, "Europe/Berlin") == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_a_stored_time_that_is_not_hh_mm_means_the_default():
    assert digests.parse_time("21:15") == time(21, 15)
    assert digests.parse_time(None) == digests.parse_time("noon") == time(8, 0)


@pytest.mark.parametrize("value, ended", [
    (None, True),  # never scheduled since digest-next existed, or expired: the sweep schedules it
    ({"due": "2026-03-02T08:00:00+00:00"}, False),  # ahead
    ({"due": "2026-03-01T11:30:00+00:00"}, False),  # just past: its firing or retries may still be under way
    ({"due": "2026-03-01T10:30:00+00:00"}, True),  # long past: it never fired through all its retries
    ({"due": "soon"}, True),
])
def test_a_digest_chain_has_ended_when_its_next_digest_is_missing_or_long_past(value, ended):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    marker = Item(keys.digest_next_key("u1"), value, "1" if value else None)
    assert digests.chain_ended(marker, now) is ended
