"""Pure task logic: creation, edits, transitions, list queries."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.tasks import fields, model
from webapp.tasks.model import InvalidTransition, ListQuery, TaskFields

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def make(title="T", **kw):
    fields = TaskFields(title=title, **{k: v for k, v in kw.items() if k in TaskFields.__dataclass_fields__})
    task = model.new_task("u1", fields, NOW - timedelta(minutes=kw.get("age", 0)))
    return task


def test_new_task_has_id_owner_and_times():
    task = make("  Buy milk  ", description=" 2 l ")
    assert task.title == "Buy milk" and task.description == "2 l"
    assert task.owner == "u1" and len(task.id) == 32
    assert task.created_at == task.updated_at and task.completed_at is None


def test_created_completed_gets_completion_time():
    assert make(status="completed").completed_at is not None


def test_round_trip_through_storage_form():
    task = make(tags=("a", "b"), due_at=NOW + timedelta(days=1), recurrence="weekly")
    again = model.Task.from_dict(task.to_dict(), etag="7")
    assert again == task and again.etag == "7" and "etag" not in task.to_dict()


def test_the_version_is_the_revision_not_the_etag():
    task = model.Task.from_dict(make().to_dict(), etag="41")
    # Rewriting the document without changing the task (clearing its outbox) changes the ETag only.
    assert model.Task.from_dict(task.to_dict(), etag="42").version == task.version == "1"
    assert model.completed(task, NOW).version == "2"
    assert model.edited(task, TaskFields("New title"), NOW).version == "2"


def test_delete_and_restore_are_changes_that_keep_the_fields():
    task = make("Keep me", tags=("a",), due_at=NOW + timedelta(days=1))
    tombstone = model.buried(task, NOW)
    back = model.restored(tombstone, NOW + timedelta(minutes=1))
    assert (tombstone.revision, back.revision) == (task.revision + 1, task.revision + 2)
    assert model.fields_of(back) == model.fields_of(task) and back.id == task.id
    assert back.updated_at == NOW + timedelta(minutes=1)


def test_complete_then_reopen():
    done = model.completed(make(), NOW)
    assert done.status == "completed" and done.completed_at == NOW
    again = model.reopened(done, NOW + timedelta(hours=1))
    assert again.status == "pending" and again.completed_at is None


def test_completing_twice_is_invalid():
    with pytest.raises(InvalidTransition):
        model.completed(model.completed(make(), NOW), NOW)


def test_reopening_an_open_task_is_invalid():
    with pytest.raises(InvalidTransition):
        model.reopened(make(), NOW)


def test_edit_to_completed_sets_and_back_clears_completion():
    task = make()
    done = model.edited(task, TaskFields("T", status="completed"), NOW)
    assert done.completed_at == NOW
    back = model.edited(done, TaskFields("T", status="in_progress"), NOW)
    assert back.completed_at is None
    assert model.changed_fields(done, back) == ["status"]


@pytest.mark.parametrize("raw, expected", [
    ("Work, home ,work,, HOME", ("work", "home")),
    (["a", " b "], ("a", "b")),
    ("", ()),
])
def test_normalise_tags(raw, expected):
    assert fields.normalise_tags(raw) == expected


def tasks_for_query():
    return [
        make("Alpha report", priority="high", tags=("work",), age=3),
        make("beta groceries", priority="low", tags=("home",), description="milk and eggs", age=2),
        make("Gamma taxes", priority="medium", tags=("home", "money"), status="completed", age=1),
    ]


def test_filters_combine():
    tasks = tasks_for_query()
    page = model.select(tasks, ListQuery(tag="home", status="pending"))
    assert [t.title for t in page.items] == ["beta groceries"]
    assert page.tags == ["home", "money", "work"]


def test_search_looks_in_title_description_and_tags():
    tasks = tasks_for_query()
    assert [t.title for t in model.select(tasks, ListQuery(q="MILK")).items] == ["beta groceries"]
    assert [t.title for t in model.select(tasks, ListQuery(q="money")).items] == ["Gamma taxes"]


@pytest.mark.parametrize("sort, first", [("priority", "Alpha report"), ("title", "Alpha report"),
                                         ("created", "Gamma taxes"), ("updated", "Gamma taxes")])
def test_sorts(sort, first):
    assert model.select(tasks_for_query(), ListQuery(sort=sort)).items[0].title == first


def test_due_sort_puts_undated_last():
    tasks = [make("no date"), make("later", due_at=NOW + timedelta(days=2)), make("soon", due_at=NOW)]
    assert [t.title for t in model.select(tasks, ListQuery(sort="due")).items] == ["soon", "later", "no date"]


def test_pagination_clamps_page_numbers():
    tasks = [make(f"t{i:02}") for i in range(45)]
    page = model.select(tasks, ListQuery(sort="title", page=99, per_page=20))
    assert (page.page, page.pages, page.total, len(page.items)) == (3, 3, 45, 5)
    assert model.select(tasks, ListQuery(sort="title", page=0, per_page=20)).items[0].title == "t00"


def test_overdue_only_when_open_and_past_due():
    late = make(due_at=NOW - timedelta(hours=1))
    assert late.is_overdue(NOW)
    assert not model.completed(late, NOW).is_overdue(NOW)
    assert not make(due_at=NOW + timedelta(hours=1)).is_overdue(NOW)
