"""The list rows kept in a user's index: encoding, page selection, merging changes. Pure, no sidecar."""

import json
from datetime import timedelta

import pytest

from tests.unit.test_task_model import NOW, make, tasks_for_query
from webapp.tasks import model, rows
from webapp.tasks.model import ListQuery


def test_summary_row_round_trip_keeps_what_the_list_needs():
    task = make("Report", priority="high", tags=("work", "q3"), due_at=NOW + timedelta(days=1))
    row = rows.Summary.of(task).to_row()
    assert len(row) == len(rows.ROW_FIELDS) and task.description not in row and task.owner not in row
    assert json.loads(json.dumps(row)) == row
    again = rows.Summary.from_row(task.id, row)
    assert (again.id, again.title, again.tags, again.due_at, again.revision) == \
        (task.id, "Report", ("work", "q3"), task.due_at, task.revision)
    with pytest.raises(ValueError):
        rows.Summary.from_row(task.id, rows.tombstone_row(task.revision + 1))


@pytest.mark.parametrize("query", [ListQuery(sort=s) for s in model.SORTS] + [
    ListQuery(status="pending"), ListQuery(priority="low"), ListQuery(tag="home", sort="title"),
    ListQuery(sort="due", page=2, per_page=1)])
def test_summaries_select_the_same_page_as_the_tasks(query):
    tasks = tasks_for_query() + [make("Delta", due_at=NOW, tags=("home",), age=5)]
    summaries = [rows.Summary.from_row(t.id, rows.Summary.of(t).to_row()) for t in tasks]
    by_tasks, by_rows = model.select(tasks, query), model.select(summaries, query)
    assert [t.id for t in by_rows.items] == [t.id for t in by_tasks.items]
    assert (by_rows.total, by_rows.pages, by_rows.tags) == (by_tasks.total, by_tasks.pages, by_tasks.tags)


def _index(*tasks):
    return {"ids": [t.id for t in tasks], "rows": {t.id: rows.Summary.of(t).to_row() for t in tasks}}


def test_a_row_only_replaces_an_older_one():
    task = make("Draft")
    index = _index(task)
    done = model.completed(task, NOW)
    after = rows.merged(index, {task.id: rows.Summary.of(done).to_row()})
    assert rows.Summary.from_row(task.id, after["rows"][task.id]).status == "completed"
    # The older change arriving late (or twice) changes nothing.
    assert rows.merged(after, {task.id: rows.Summary.of(task).to_row()}) is None
    assert rows.merged(after, {task.id: rows.Summary.of(done).to_row()}) is None


def test_tombstones_win_and_none_drops_the_id():
    keep, gone = make("Keep"), make("Gone")
    index = _index(keep, gone)
    tombstone = rows.tombstone_row(model.buried(gone, NOW).revision)
    buried = rows.merged(index, {gone.id: tombstone})
    assert buried["rows"][gone.id] == tombstone and gone.id in buried["ids"]
    assert rows.known(tombstone) and not rows.is_row(tombstone)
    assert rows.merged(buried, {gone.id: rows.Summary.of(gone).to_row()}) is None  # a late row: stays deleted
    assert rows.merged(buried, {gone.id: tombstone}) is None
    removed = rows.merged(buried, {gone.id: None})
    assert removed == {"ids": [keep.id], "rows": {keep.id: index["rows"][keep.id]}}
    assert rows.merged(removed, {gone.id: None}) is None


def test_a_restore_replaces_the_tombstone_and_a_late_tombstone_does_not_undo_it():
    task = make("Undo me")
    tombstone = model.buried(task, NOW)
    back = model.restored(tombstone, NOW)
    buried = rows.merged(_index(task), {task.id: rows.tombstone_row(tombstone.revision)})
    restored = rows.merged(buried, {task.id: rows.Summary.of(back).to_row()})
    assert rows.Summary.from_row(task.id, restored["rows"][task.id]).revision == back.revision
    assert rows.merged(restored, {task.id: rows.tombstone_row(tombstone.revision)}) is None


def test_a_tombstone_row_without_revision_is_final():
    task = make("Old tombstone")
    buried = rows.merged(_index(task), {task.id: rows.TOMBSTONE_ROW})
    assert buried["rows"][task.id] == rows.TOMBSTONE_ROW
    later = model.restored(model.buried(task, NOW), NOW)
    assert rows.merged(buried, {task.id: rows.Summary.of(later).to_row()}) is None


def test_a_new_or_unknown_row_is_added_first():
    old, new = make("Old"), make("New")
    index = {"ids": [old.id], "rows": {old.id: {"title": "an older layout"}}}
    after = rows.merged(index, {new.id: rows.Summary.of(new).to_row(), old.id: rows.Summary.of(old).to_row()})
    assert after["ids"] == [new.id, old.id] and all(rows.is_row(r) for r in after["rows"].values())
    assert rows.merged(None, {new.id: rows.Summary.of(new).to_row()})["ids"] == [new.id]


def test_a_summary_reads_a_field_by_name_as_an_attribute_and_by_position_as_a_tuple():
    summary = rows.Summary.of(make("Read me", tags=["a"]))
    assert summary["title"] == summary.title == "Read me" and summary["tags"] == ("a",)
    assert summary[0] == summary.id and summary[1:3] == (summary.title, summary.status)
    with pytest.raises(AttributeError):
        summary["no_such_field"]
