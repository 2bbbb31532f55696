"""The jobs horizon's day arithmetic: which day's run brings a deferred job into the scheduler."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from webapp import keys
from webapp.background import horizon

UTC = timezone.utc
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))


def test_a_job_due_within_the_window_is_scheduled_at_once():
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert not horizon.beyond(now + timedelta(days=7), now)
    assert horizon.beyond(now + timedelta(days=7, seconds=1), now)


@given(now=instants, ahead=st.timedeltas(min_value=timedelta(days=7, seconds=1), max_value=timedelta(days=400)))
def test_a_deferred_job_lands_on_a_day_to_come_and_enters_the_scheduler_in_time(now, ahead):
    due = now + ahead
    day = horizon.bucket_day(due)
    assert day > now.date()  # never a bucket whose run may be over
    run = datetime.combine(day, horizon.FIRES_AT, tzinfo=UTC)
    assert not horizon.beyond(due, run)  # that day's run schedules it, never defers it again
    assert due - run >= horizon.WINDOW - timedelta(days=1, minutes=5)  # and does so about 6 days ahead at least


def test_the_horizon_fires_daily_at_five_past_midnight_utc():
    assert horizon.next_firing(datetime(2026, 11, 30, 0, 4, tzinfo=UTC)) == datetime(2026, 11, 30, 0, 5, tzinfo=UTC)
    assert horizon.next_firing(datetime(2026, 11, 30, 0, 5, tzinfo=UTC)) == datetime(2026, 12, 1, 0, 5, tzinfo=UTC)


def test_bucket_keys_are_sharded_by_job_name():
    day = datetime(2027, 1, 3).date()
    bucket_keys = {keys.horizon_bucket_key(day, f"overdue-{n}") for n in range(2000)}
    assert all(k.startswith("jobs-later:2027-01-03:") and len(k.rsplit(":", 1)[1]) == 2 for k in bucket_keys)
    assert len(bucket_keys) == keys.HORIZON_BUCKET_SHARDS
