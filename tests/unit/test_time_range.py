"""Times at the edges of the supported range (1970 to 9000, UTC): refused on input, still shown when stored,
and a series whose next occurrence falls outside the range ends. Pure, no sidecar."""

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from webapp import recurrence, timezones
from webapp.api.schemas import TaskInSchema
from webapp.app import create_app
from webapp.tasks import model
from webapp.tasks.forms import TaskForm
from webapp.tasks.model import TaskFields

UTC = timezone.utc
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLUS_14 = timezone(timedelta(hours=14))
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def form_app():
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "unit"})


def test_the_range_is_1970_to_9000_in_utc():
    assert timezones.EARLIEST == datetime(1970, 1, 1, tzinfo=UTC)
    assert timezones.LATEST == datetime(9001, 1, 1, tzinfo=UTC) - timedelta(microseconds=1)
    assert timezones.in_range(datetime(1970, 1, 1, tzinfo=UTC))
    assert timezones.in_range(datetime(9000, 12, 31, 23, 59, tzinfo=UTC))
    assert not timezones.in_range(datetime(1969, 12, 31, 23, 59, tzinfo=UTC))
    assert not timezones.in_range(datetime(9001, 1, 1, tzinfo=UTC))
    # Judged after conversion, and never raising for values that cannot be converted at all.
    assert not timezones.in_range(datetime(1, 1, 1, tzinfo=PLUS_14))
    assert not timezones.in_range(datetime(9999, 12, 31, 23, 59, tzinfo=NEW_YORK))
    assert not timezones.in_range(datetime(1970, 1, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin")))


@pytest.mark.parametrize("local, tz", [
    (datetime(9999, 12, 31, 23, 59), "America/New_York"),  # past year 9999 in UTC
    (datetime(1, 1, 1, tzinfo=PLUS_14), None),  # before year 1 in UTC
    (datetime(9001, 1, 1), "UTC"),
    (datetime(1970, 1, 1, 0, 30), "Europe/Berlin"),  # 1969 in UTC
])
def test_to_utc_refuses_times_outside_the_range(local, tz):
    with pytest.raises(timezones.OutOfRange, match="between 1970 and 9000"):
        timezones.to_utc(local, tz)


def test_to_utc_keeps_the_edges_of_the_range():
    assert timezones.to_utc(datetime(1970, 1, 1), "UTC") == timezones.EARLIEST
    assert timezones.to_utc(datetime(9000, 12, 31, 18, 59), "America/New_York") == \
        datetime(9000, 12, 31, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize("stored", [datetime(1, 1, 1, tzinfo=PLUS_14), datetime(9999, 12, 31, 23, 59, tzinfo=NEW_YORK),
                                    datetime(9999, 12, 31, 23, 59, tzinfo=UTC)])
def test_a_stored_time_outside_the_range_is_still_shown(stored, form_app):
    for tz in ("America/New_York", "Pacific/Kiritimati", "UTC"):
        assert timezones.to_local(stored, tz) == stored  # the same instant, in the offset it was stored with
    with form_app.test_request_context():
        shown = form_app.jinja_env.filters["localtime"](stored)
    assert str(stored.year) in shown and f"{stored:%H:%M}" in shown


def test_a_stored_time_outside_the_range_fills_the_edit_form(form_app):
    task = model.new_task("u", TaskFields("Old", due_at=datetime(1, 1, 1, tzinfo=PLUS_14)), NOW)
    with form_app.test_request_context():
        form = TaskForm(formdata=None, tz="America/New_York")
        form.fill(task)
    assert form.due_at.data == datetime(1, 1, 1)


@pytest.mark.parametrize("anchor, rule", [
    (datetime(9000, 6, 1, 9, tzinfo=UTC), "yearly"),
    (datetime(9000, 12, 31, 9, tzinfo=UTC), "daily"),
    (datetime(9999, 6, 1, 9, tzinfo=UTC), "yearly"),  # stored before the range was checked
    (datetime(1, 1, 1, tzinfo=PLUS_14), "daily"),
])
def test_an_occurrence_outside_the_range_is_refused(anchor, rule):
    with pytest.raises(timezones.OutOfRange):
        recurrence.occurrence(anchor, rule, 1, "America/New_York")


@pytest.mark.parametrize("due, rule", [
    (datetime(9000, 6, 1, 9, tzinfo=UTC), "yearly"),
    (datetime(9000, 12, 31, 9, tzinfo=UTC), "daily"),
    (datetime(9999, 6, 1, 9, tzinfo=UTC), "yearly"),
    (datetime(9999, 12, 31, 23, 59, tzinfo=NEW_YORK), "monthly"),
    (datetime(1, 1, 1, tzinfo=PLUS_14), "weekly"),
])
def test_a_series_ends_where_its_next_occurrence_leaves_the_range(due, rule):
    task = model.new_task("u", TaskFields("Yearly", due_at=due, remind_at=due - timedelta(days=1) if due.year > 1
                                          else None, recurrence=rule), NOW, tz="America/New_York")
    assert model.next_instance(model.completed(task, NOW), NOW) is None


def test_the_last_occurrence_inside_the_range_is_still_created():
    task = model.new_task("u", TaskFields("Yearly", due_at=datetime(8999, 6, 1, 9, tzinfo=UTC), recurrence="yearly"),
                          NOW)
    assert model.next_instance(model.completed(task, NOW), NOW).due_at == datetime(9000, 6, 1, 9, tzinfo=UTC)


def validate_form(form_app, tz, **data):
    base = {"title": "ok", "status": "pending", "priority": "medium", "recurrence": "none"}
    with form_app.test_request_context(method="POST", data=MultiDict({**base, **data})):
        form = TaskForm(tz=tz)
        return form.validate(), form.errors, form


@pytest.mark.parametrize("tz, field, value", [
    ("America/New_York", "due_at", "9999-12-31T23:59"),
    ("America/New_York", "remind_at", "9999-12-31T23:59"),
    ("UTC", "due_at", "9001-01-01T00:00"),
    ("UTC", "due_at", "1969-12-31T23:59"),
    ("Europe/Berlin", "due_at", "1970-01-01T00:30"),
    ("Pacific/Kiritimati", "due_at", "0001-01-01T00:00"),
])
def test_the_form_refuses_a_time_outside_the_range_on_its_field(form_app, tz, field, value):
    ok, errors, _ = validate_form(form_app, tz, **{field: value})
    assert not ok and "between 1970 and 9000" in " ".join(errors.get(field, [])), errors


def test_the_form_stores_a_time_at_the_edge_of_the_range_as_utc(form_app):
    ok, errors, form = validate_form(form_app, "America/New_York", due_at="9000-12-31T18:59",
                                     remind_at="1970-01-01T00:00", recurrence="yearly")
    assert ok, errors
    fields = form.task_fields()
    assert fields.due_at == datetime(9000, 12, 31, 23, 59, tzinfo=UTC) and fields.due_at.tzinfo is UTC
    assert fields.remind_at == datetime(1970, 1, 1, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("field, value", [
    ("due_at", "0001-01-01T00:00:00+14:00"),
    ("due_at", "9999-12-31T23:59:00-05:00"),
    ("remind_at", "9001-01-01T00:00:00Z"),
    ("due_at", "1969-12-31T23:59:59Z"),
])
def test_the_api_refuses_a_time_outside_the_range_on_its_field(field, value):
    with pytest.raises(ValidationError) as refused:
        TaskInSchema().load({"title": "ok", field: value})
    assert "between 1970 and 9000" in " ".join(refused.value.messages[field])


def test_the_api_stores_times_in_utc():
    data = TaskInSchema().load({"title": "ok", "due_at": "2030-01-02T03:04:05+02:00",
                                "remind_at": "9000-12-31T23:59:59Z"})
    assert data["due_at"] == datetime(2030, 1, 2, 1, 4, 5, tzinfo=UTC) and data["due_at"].utcoffset() == timedelta(0)
    assert data["remind_at"] == datetime(9000, 12, 31, 23, 59, 59, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1))
@settings(max_examples=500, deadline=None)
def test_a_time_the_api_pattern_allows_is_in_the_range(wall_clock, offset_minutes):
    value = wall_clock.replace(tzinfo=timezone(timedelta(minutes=offset_minutes))).isoformat()
    if re.match(timezones.IN_RANGE_PATTERN, value):
        assert timezones.in_range(datetime.fromisoformat(value)), value


@pytest.mark.parametrize("value, allowed", [
    ("1970-01-01T00:00:00+00:00", True), ("1970-01-01T00:00:00-05:00", True), ("1970-01-02T00:00:00+14:00", True),
    ("9000-12-31T23:59:59+00:00", True), ("9000-12-31T23:59:59+05:00", True), ("9000-12-30T23:59:59-12:00", True),
    ("1970-01-01T00:30:00+01:00", False), ("9000-12-31T20:00:00-05:00", False), ("1969-12-31T23:59:59+00:00", False),
    ("9001-01-01T00:00:00+00:00", False), ("0001-01-01T00:00:00+14:00", False),
])
def test_the_api_pattern_covers_the_range_but_its_edge_days(value, allowed):
    assert bool(re.match(timezones.IN_RANGE_PATTERN, value)) is allowed
    assert timezones.in_range(datetime.fromisoformat(value)) or not allowed
    if allowed:
        assert TaskInSchema().load({"title": "ok", "due_at": value})["due_at"] == datetime.fromisoformat(value)


def test_the_next_instance_of_a_series_with_a_reminder_stored_outside_the_range_has_none():
    due = datetime(2026, 3, 7, 14, tzinfo=UTC)
    task = model.new_task("u", TaskFields("Daily", due_at=due, remind_at=datetime(1, 1, 1, tzinfo=PLUS_14),
                                          recurrence="daily"), NOW, tz="America/New_York")
    following = model.next_instance(model.completed(task, NOW), NOW)
    assert following.due_at == datetime(2026, 3, 8, 13, tzinfo=UTC) and following.remind_at is None
