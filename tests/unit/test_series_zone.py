"""A recurring series keeps its time zone through edits that leave its due time and rule alone. Pure, no sidecar."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict

from webapp.app import create_app
from webapp.tasks import model
from webapp.tasks.forms import TaskForm
from webapp.tasks.model import TaskFields

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Saturday 7 March 2026, 09:00 in New York (14:00 UTC); the US moves its clocks on Sunday 8 March, Europe on the 29th.
SATURDAY_9AM = datetime(2026, 3, 7, 9, 0, tzinfo=NEW_YORK).astimezone(UTC)


@pytest.fixture(scope="module")
def form_app():
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "unit"})


def daily_in_new_york():
    return model.new_task("u", TaskFields("Stand-up", due_at=SATURDAY_9AM, remind_at=SATURDAY_9AM - timedelta(minutes=10),
                                          recurrence="daily"), NOW, tz="America/New_York")


def next_three(task):
    """The due times of the next three instances, in New York wall clock."""
    times = []
    for _ in range(3):
        task = model.next_instance(model.completed(task, NOW), NOW)
        times.append(task.due_at.astimezone(NEW_YORK).strftime("%a %H:%M"))
    return times


def test_a_daily_series_stays_at_9_in_new_york_across_dst():
    assert next_three(daily_in_new_york()) == ["Sun 09:00", "Mon 09:00", "Tue 09:00"]


def test_an_edit_from_berlin_that_changes_only_the_title_keeps_the_series_zone():
    task = daily_in_new_york()
    renamed = model.edited(task, replace(model.fields_of(task), title="Daily stand-up"), NOW, tz="Europe/Berlin")
    assert renamed.timezone == "America/New_York"
    assert (renamed.anchor_at, renamed.series_id, renamed.occurrence) == (task.anchor_at, task.series_id, 0)
    assert next_three(renamed) == ["Sun 09:00", "Mon 09:00", "Tue 09:00"]


def test_a_later_instance_edited_from_berlin_keeps_the_series_zone():
    second = model.next_instance(model.completed(daily_in_new_york(), NOW), NOW)
    edited = model.edited(second, replace(model.fields_of(second), priority="high"), NOW, tz="Europe/Berlin")
    assert edited.timezone == "America/New_York" and edited.occurrence == 1
    assert next_three(edited) == ["Mon 09:00", "Tue 09:00", "Wed 09:00"]


@pytest.mark.parametrize("change", [{"due_at": SATURDAY_9AM + timedelta(hours=1)}, {"recurrence": "weekly"}])
def test_a_new_due_time_or_rule_restarts_the_series_in_the_editors_zone(change):
    task = daily_in_new_york()
    moved = model.edited(task, replace(model.fields_of(task), **change), NOW, tz="Europe/Berlin")
    assert moved.timezone == "Europe/Berlin" and moved.anchor_at == moved.due_at


def edit_form(form_app, task, tz, **changes):
    """The edit form as ``fill`` shows ``task`` in zone ``tz``, posted back with ``changes``."""
    with form_app.test_request_context():
        shown = TaskForm(formdata=None, tz=tz)
        shown.fill(task)
        data = {name: shown[name]._value() if hasattr(shown[name], "_value") else shown[name].data
                for name in TaskForm.EDITABLE}
    with form_app.test_request_context(method="POST", data=MultiDict({**data, **changes})):
        form = TaskForm(tz=tz)
        assert form.validate(), form.errors
        return form.task_fields(editing=task)


def test_a_time_left_as_the_form_shows_it_keeps_its_stored_value(form_app):
    # Stored through the API with seconds; 01:30 UTC on 25 October 2026 is 02:30 in Berlin *after* clocks fall back
    # (02:30 happens twice there): typed back, 02:30 would be read as the first one, an hour earlier.
    due = datetime(2026, 10, 25, 1, 30, 15, tzinfo=UTC)
    task = model.new_task("u", TaskFields("Night job", due_at=due, recurrence="daily"), NOW, tz="America/New_York")
    fields = edit_form(form_app, task, "Europe/Berlin", title="Renamed night job")
    assert fields.due_at == due and fields.title == "Renamed night job"
    assert model.edited(task, fields, NOW, tz="Europe/Berlin").timezone == "America/New_York"


def test_a_time_typed_anew_is_read_in_the_editors_zone(form_app):
    task = daily_in_new_york()
    fields = edit_form(form_app, task, "Europe/Berlin", due_at="2026-03-07T16:00")
    assert fields.due_at == datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
