"""A whole index's rows decoded in one pass give what ``from_row`` and ``known`` give row by row. Pure."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.test_task_model import NOW, make
from webapp.tasks import rows
from webapp.tasks.model import ListQuery, select


def test_of_index_is_from_row_of_every_live_row_and_the_ids_of_no_known_layout():
    due = make("due", due_at=NOW + timedelta(days=1), priority="high", tags=["a"])
    plain = make("plain")
    index_rows = {due.id: rows.Summary.of(due).to_row(), plain.id: rows.Summary.of(plain).to_row(),
                  "gone": rows.tombstone_row(3), "old-gone": dict(rows.TOMBSTONE_ROW),
                  "old-layout": {"title": "x"}, "short": ["x"]}
    ids = [due.id, plain.id, "gone", "old-gone", "old-layout", "short", "no-row"]
    found, unknown = rows.Summary.of_index(index_rows, ids)
    assert found == [rows.Summary.from_row(i, r) for i, r in index_rows.items() if rows.is_row(r)]
    assert unknown == [i for i in ids if not rows.known(index_rows.get(i))] == ["old-layout", "short", "no-row"]
    assert found[0].due_at == due.due_at and found[1].due_at is None and found[0].updated_at == due.updated_at


def test_a_page_without_filters_is_every_task_in_order_as_with_them():
    tasks = [make(f"t{n}", age=n, tags=["x"] if n % 2 else []) for n in range(30)]
    unfiltered = select(tasks, ListQuery(sort="title", per_page=7, page=2))
    assert [t.title for t in unfiltered.items] == sorted(t.title for t in tasks)[7:14]
    assert unfiltered.total == 30 and unfiltered.pages == 5 and unfiltered.tags == ["x"]
    assert select(tasks, ListQuery(tag="x")).total == 15
