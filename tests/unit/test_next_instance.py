"""The next instance of a recurring task."""

from datetime import datetime, timedelta, timezone

from webapp.tasks import model
from webapp.tasks.model import TaskFields

NOW = datetime(2025, 1, 20, tzinfo=timezone.utc)
JAN31 = datetime(2025, 1, 31, 8, 0, tzinfo=timezone.utc)


def monthly_task():
    return model.new_task("u", TaskFields("Rent", due_at=JAN31, remind_at=JAN31 - timedelta(days=1),
                                          recurrence="monthly"), NOW, tz="UTC")


def test_series_starts_at_the_first_due_time():
    task = monthly_task()
    assert task.series_id == task.id and task.anchor_at == JAN31 and task.occurrence == 0


def test_next_instances_follow_the_calendar_and_keep_the_reminder_offset():
    first = model.completed(monthly_task(), NOW)
    second = model.next_instance(first, NOW)
    third = model.next_instance(model.completed(second, NOW), NOW)
    assert second.due_at == datetime(2025, 2, 28, 8, 0, tzinfo=timezone.utc)
    assert third.due_at == datetime(2025, 3, 31, 8, 0, tzinfo=timezone.utc)
    assert second.remind_at == second.due_at - timedelta(days=1)
    assert second.status == "pending" and second.completed_at is None
    assert len({first.id, second.id, third.id}) == 3


def test_next_instance_id_is_derived_so_duplicates_collapse():
    done = model.completed(monthly_task(), NOW)
    assert model.next_instance(done, NOW).id == model.next_instance(done, NOW + timedelta(hours=1)).id


def test_non_recurring_has_no_next_instance():
    task = model.new_task("u", TaskFields("once", due_at=JAN31), NOW)
    assert model.next_instance(model.completed(task, NOW), NOW) is None


def test_editing_the_due_time_restarts_the_series():
    task = monthly_task()
    moved = model.edited(task, TaskFields("Rent", due_at=JAN31 + timedelta(days=3), recurrence="monthly"), NOW)
    assert moved.anchor_at == JAN31 + timedelta(days=3) and moved.occurrence == 0
    assert moved.series_id == task.series_id
