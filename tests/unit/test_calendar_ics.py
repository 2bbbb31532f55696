"""The calendar feed's iCalendar document, parsed back with the icalendar library the way a calendar client
imports it: stable UIDs, DTSTART in the task's zone, and RRULEs whose occurrences are the app's own."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from dateutil.rrule import rrulestr
from icalendar import Calendar

from tests.unit.test_task_model import make
from webapp import recurrence
from webapp.calendar_feed import ics
from webapp.my_tasks import entries

STAMP = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def _mine(task, tz="UTC"):
    entry = entries.live_entry(replace(task, timezone=tz))
    return entries.open_tasks({"rows": {task.id: entry}}, {task.board_id})[0]


def _events(tasks):
    body = ics.calendar(tasks, {"u1": "Personal"}, lambda task_id: f"https://example.test/tasks/{task_id}", STAMP)
    cal = Calendar.from_ical(body)
    return cal, {str(e["summary"]): e for e in cal.walk("VEVENT")}


def _occurrences(event, count):
    """The first ``count`` starts of an event, expanded with dateutil from its DTSTART and RRULE as imported."""
    start = event.decoded("dtstart")
    rule = rrulestr(event["rrule"].to_ical().decode(), dtstart=start)
    return [when.astimezone(timezone.utc) for when in rule[:count]] if count else []


def test_one_event_per_task_with_a_due_time_with_a_stable_uid():
    due = make("Dentist", due_at=datetime(2026, 2, 3, 8, 30, tzinfo=timezone.utc), tags=("health",), estimate=45)
    undated = make("Someday")
    cal, events = _events([_mine(due), _mine(undated)])
    assert set(events) == {"Dentist"} and str(cal["version"]) == "2.0"
    event = events["Dentist"]
    assert str(event["uid"]) == f"task-{due.id}@taskboard"
    assert event.decoded("dtstart") == due.due_at and event.decoded("duration") == timedelta(minutes=45)
    assert f"https://example.test/tasks/{due.id}" == str(event["url"])
    assert _events([_mine(replace(due, title="Dentist", revision=5))])[1]["Dentist"]["uid"] == event["uid"]


def test_a_monthly_series_on_the_31st_clamps_like_the_app_across_dst_with_its_tzid():
    anchor = datetime(2026, 1, 31, 8, 0, tzinfo=timezone.utc)  # 09:00 in Paris (CET)
    task = replace(make("Rent", due_at=anchor, recurrence="monthly"), timezone="Europe/Paris")
    cal, events = _events([_mine(task, "Europe/Paris")])
    event = events["Rent"]
    assert event["dtstart"].params["TZID"] == "Europe/Paris"
    assert [c["tzid"] for c in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert str(event["uid"]) == f"series-{task.series_id}@taskboard"
    expected = [recurrence.occurrence(anchor, "monthly", n, "Europe/Paris") for n in range(14)]
    assert _occurrences(event, 14) == expected  # Feb 28, Mar 31 at 09:00 CEST (07:00 UTC), Apr 30…


def test_daily_weekly_and_a_leap_day_yearly_series_match_the_app():
    cases = {
        "daily": datetime(2026, 3, 27, 23, 30, tzinfo=timezone.utc),  # over the March DST change in Berlin
        "weekly": datetime(2026, 10, 20, 6, 0, tzinfo=timezone.utc),
        "yearly": datetime(2028, 2, 29, 12, 0, tzinfo=timezone.utc),
    }
    for rule, anchor in cases.items():
        task = replace(make(f"Every {rule}", due_at=anchor, recurrence=rule), timezone="Europe/Berlin")
        event = _events([_mine(task, "Europe/Berlin")])[1][f"Every {rule}"]
        expected = [recurrence.occurrence(anchor, rule, n, "Europe/Berlin") for n in range(6)]
        assert _occurrences(event, 6) == expected, rule


def test_a_later_instance_of_a_series_keeps_the_uid_and_the_anchors_day():
    anchor = datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc)
    first = make("Invoice", due_at=anchor, recurrence="monthly")
    second = replace(first, id="f" * 32, due_at=recurrence.occurrence(anchor, "monthly", 1, "UTC"), occurrence=1)
    one, two = (_events([_mine(t)])[1]["Invoice"] for t in (first, second))
    assert one["uid"] == two["uid"]
    assert _occurrences(two, 3) == [recurrence.occurrence(anchor, "monthly", n, "UTC") for n in (1, 2, 3)]
