"""The list page's read: the index's rows pick the page, then only its tasks are read.

That is two sidecar calls whatever the number of tasks: the index (its rows
are filtered, sorted and paged), then one bulk read of the page's tasks.
Searching is the exception: descriptions are not in the rows, so a search
reads every task. Rows found stale or missing on the way are repaired.
"""

from __future__ import annotations

from dataclasses import replace as with_items
from typing import Iterable

from ..sidecar import gateway
from . import model
from .model import ListQuery, Page, Task
from .rows import Summary, is_row, known, row_revision
from .store import index_key, is_live, load_all, merge_from, merge_rows, owned, task_key, task_of


def load_page(user_id: str, query: ListQuery) -> Page:
    """One page of a board's list (``user_id``: the board's id; a user's is their personal board)."""
    if query.q.strip():
        return model.select(load_all(user_id), query)  # descriptions are not in the rows
    index = (gateway().get(index_key(user_id)).value or {})
    rows = index.get("rows") or {}
    page = model.select(summaries(user_id, index), query)
    items = gateway().get_many([task_key(s.id) for s in page.items])
    tasks = [task_of(it) for it in items if is_live(it, user_id)]
    stale = [t for t in tasks if is_row(rows.get(t.id)) and t.revision != row_revision(rows[t.id])]
    if stale:
        merge_rows(user_id, {t.id: Summary.of(t).to_row() for t in stale})
    return with_items(page, items=[t for t in tasks if model.matches(t, query)])


def summaries(board_id: str, index: dict) -> list[Summary]:
    """The list rows of every live task in the board's ``index`` (as read); missing rows are rebuilt and stored."""
    rows = index.get("rows") or {}
    found = [Summary.from_row(i, row) for i, row in rows.items() if is_row(row)]
    unlisted = [i for i in index.get("ids", []) if not known(rows.get(i))]
    if unlisted:  # indexed before rows existed (or in another layout), or a row went missing
        found += [Summary.of(t) for t in _reindex(board_id, unlisted)]
    return found


def _reindex(user_id: str, ids: Iterable[str]) -> list[Task]:
    """Rebuild the rows of ``ids`` from their documents; returns the live tasks among them."""
    keys = [task_key(i) for i in ids]
    found = {it.key: it for it in gateway().get_many(keys) if owned(it, user_id)}
    return merge_from(user_id, keys, found)
