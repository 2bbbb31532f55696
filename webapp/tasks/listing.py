"""Reading a board's list: the index's rows pick (and, for the page, show) what is listed.

The list page (``read_index``, then ``rows_page``) is one sidecar call without search: the index is
read in one bulk get with whatever else the page needs (the inbox head for the
badge, the caller's memberships and the board record for a shared board), its
rows are filtered, sorted, paged and rendered as they are — every column the
page shows is in the row. The writers keep rows current (the row changes in
the task's own write), so nothing is read to compare. The API (``load_page``)
answers whole tasks: it reads the page's tasks in a second call. Searching is
the exception for both: descriptions are not in the rows, so a search reads
every task. Rows of an older layout (or ids without rows) are rebuilt from
their documents on the way (``summaries``).
"""

from __future__ import annotations

from dataclasses import replace as with_items
from typing import Iterable, Sequence

from ..dapr_gateway import Item
from ..keys import index_key, task_key
from ..sidecar import gateway
from . import model
from .model import ListQuery, Page, Task
from .rows import Summary
from .index import merge_from
from .store import is_live, owned, task_of


def read_index(board_id: str, also: Sequence[str] = ()) -> tuple[dict, list[Item]]:
    """The board's index and the items at ``also``, in one bulk get (the caller checks access with them
    before ``rows_page`` reads any document of the board)."""
    index, *extra = gateway().get_many([index_key(board_id), *also], shared=(index_key(board_id),))
    return index.value or {}, extra


def rows_page(board_id: str, index: dict, query: ListQuery) -> Page:
    """One page of the board's list from its ``index`` as read: rows (``Summary``), no further read; a search
    (``query.q``) reads the board's tasks (a page of ``Task``)."""
    if query.q.strip():
        return model.select(_tasks_of(board_id, index), query)
    key, sort = index_key(board_id), query.sort if query.sort in model.SORTS else "updated"
    found, unlisted = _summarised_once(board_id, index)
    if unlisted:  # rows to rebuild first (``summaries``): nothing kept
        return model.select(summaries(board_id, index), query)
    # A shared index's rows in each order asked, and their tags, are kept with it (read-only, as the rows)
    ordered = gateway().derived(key, index, f"in-order:{sort}", lambda: tuple(model.in_order(found, sort)))
    tags = gateway().derived(key, index, "tags", lambda: model.all_tags(found))
    return model.select(ordered, query, in_sort_order=True, tags=tags)


def load_page(board_id: str, query: ListQuery) -> Page:
    """One page of a board's list as whole tasks (the API): the index, then the page's tasks (bulk)."""
    index = gateway().get(index_key(board_id)).value or {}
    if query.q.strip():
        return model.select(_tasks_of(board_id, index), query)  # descriptions are not in the rows
    page = model.select(summaries(board_id, index), query)
    items = gateway().get_many([task_key(s.id) for s in page.items])
    tasks = [task_of(it) for it in items if is_live(it, board_id)]
    return with_items(page, items=[t for t in tasks if model.matches(t, query)])


def _tasks_of(board_id: str, index: dict) -> list[Task]:
    """Every live task the board's ``index`` (as read) lists: one bulk read."""
    items = gateway().get_many([task_key(i) for i in index.get("ids", [])])
    return [task_of(it) for it in items if is_live(it, board_id)]


def summaries(board_id: str, index: dict) -> Sequence[Summary]:
    """The list rows of every live task in the board's ``index`` (as read); missing rows are rebuilt and stored.

    An index read shared (``read_index``, the board page) is summarised once per stored version and the
    summaries shared too (``gateway().derived``): read-only, like the index."""
    found, unlisted = _summarised_once(board_id, index)
    if unlisted:  # indexed before rows existed (or in another layout), or a row went missing
        return [*found, *(Summary.of(t) for t in _reindex(board_id, unlisted))]
    return found


def _summarised_once(board_id: str, index: dict) -> tuple[tuple[Summary, ...], list[str]]:
    """(the summaries of the index's rows, the ids without a row), kept with a shared index (once a version)."""
    def summarise():
        found, unlisted = Summary.of_index(index.get("rows") or {}, index.get("ids", []))
        return tuple(found), unlisted
    return gateway().derived(index_key(board_id), index, "summaries", summarise)


def _reindex(board_id: str, ids: Iterable[str]) -> list[Task]:
    """Rebuild the rows of ``ids`` from their documents; returns the live tasks among them."""
    keys = [task_key(i) for i in ids]
    found = {it.key: it for it in gateway().get_many(keys) if owned(it, board_id)}
    return merge_from(board_id, keys, found)
