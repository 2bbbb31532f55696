"""The list page on the real sidecar: one call without search, rows show every column, the badge comes with them.

The page reads its board's index (the rows it renders), the caller's inbox head (the badge) and, for a shared
board, the caller's memberships and the board record, in one bulk get. Searching reads the tasks too.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.boards import board_task, create_board, invite, user_id_of
from webapp import keys, notifications
from webapp.dapr_gateway import Upsert
from webapp.notifications import inbox
from webapp.tasks import model, store
from webapp.tasks.model import TaskFields
from webapp.tasks.rows import ROW_FIELDS, Summary

# The gateway's primitive calls (save_versioned is save or create, so it is counted as the one it makes).
CALLS = ("get", "get_many", "save", "create", "delete", "transact", "publish", "invoke", "schedule_job",
         "delete_job", "get_job", "invoke_binding", "secret", "metadata")


@pytest.fixture
def sidecar_calls(gateway, monkeypatch):
    """Every call the in-process app makes to its sidecar, as (method, keys) (the real calls still happen)."""
    return counting(gateway, monkeypatch, CALLS)


def counting(gateway, monkeypatch, names) -> list[tuple[str, list[str]]]:
    """The gateway's ``names`` counted as (method, keys) in the list returned (the real calls still happen)."""
    calls: list[tuple[str, list[str]]] = []
    for name in names:
        real = getattr(gateway, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            keys = args[0] if args and isinstance(args[0], (list, tuple)) else [str(args[0]) if args else ""]
            calls.append((_name, list(keys) if _name != "transact" else []))
            return _real(*args, **kwargs)
        monkeypatch.setattr(gateway, name, counted)
    return calls


def _page(browser, url: str, calls: list) -> tuple[str, list]:
    """The page's HTML and the sidecar calls it cost."""
    calls.clear()
    resp = browser.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True), list(calls)


def _badge(html: str) -> int:
    """The unread count the navigation shows (0: no badge)."""
    found = re.search(r'aria-label="([0-9]+) unread"', html)
    return int(found[1]) if found else 0


def _page_with_badge(browser, user_id: str, url: str, calls: list) -> tuple[str, list, int]:
    """The page, its calls and the unread count it should show: read before and after it, until both agree
    (the task's own events may bring notifications meanwhile, e.g. an overdue alert)."""
    for _ in range(20):
        before = inbox.unread_count(user_id)
        html, made = _page(browser, url, calls)
        if inbox.unread_count(user_id) == before:
            return html, made, before
    raise AssertionError("the inbox kept changing")


def _row_html(html: str, task_id: str) -> str:
    """The list item of ``task_id`` on a list page."""
    items = re.findall(r'<li class="task[^"]*">.*?</li>', html, flags=re.S)
    found = [item for item in items if f'href="/tasks/{task_id}"' in item]
    assert len(found) == 1, f"{task_id} listed {len(found)} times"
    return found[0]


def _notify(user_id: str, *ids: str) -> None:
    for notification_id in ids:
        notifications.deliver_to_inbox({"notification_id": notification_id, "user_id": user_id, "task_id": None,
                                        "kind": "info", "message": f"note {notification_id}"})


def test_the_list_page_is_one_sidecar_call_and_shows_every_column_from_the_rows(user, owner, sidecar_calls):
    full = user.create_task(title="Quarterly report", description="the numbers", status="in_progress",
                            priority="high", tags="work, q3", due_at="2020-01-02T10:00", recurrence="weekly",
                            estimate="1h30m", assignee=owner)
    done = user.create_task(title="Filed away", status="completed", priority="low")
    plain = user.create_task(title="Plain one")
    _notify(owner, "n-1", "n-2")
    user.get("/tasks")  # the "Created" flash goes
    html, calls, unread = _page_with_badge(user, owner, "/tasks", sidecar_calls)
    print(f"\nsidecar calls of one list page: {calls}")
    # The account record rides along: the session's generation is checked with the page's own read.
    assert calls == [("get_many", [store.index_key(owner), keys.inbox_key(owner), keys.user_key(owner)])]

    row = _row_html(html, full)
    assert 'class="task  overdue"' in row or "overdue" in row.split(">", 1)[0]
    assert "pill status-in_progress" in row and "In progress" in row
    assert "pill priority-high" in row and ">High<" in row
    assert "#work" in row and "#q3" in row and "Due Thu 2 Jan 2020, 10:00 · overdue" in row
    assert "Repeats weekly" in row and "Estimate: 1 h 30 min" in row
    assert f"@{user.username}" in row
    assert 'name="version" value="1"' in row and "Complete" in row and "the numbers" not in row
    row = _row_html(html, done)
    assert 'class="task done' in row and "pill status-completed" in row and "pill priority-low" in row
    assert "Reopen" in row and "Due" not in row and "Repeats" not in row and "@" not in row
    assert "Plain one" in _row_html(html, plain)
    assert unread >= 2 and _badge(html) == unread  # the badge, from the same call

    # Every other page keeps its own one-read badge.
    detail, calls, unread = _page_with_badge(user, owner, f"/tasks/{full}", sidecar_calls)
    # (read with the account record that checks the session's generation: still one call)
    assert _badge(detail) == unread and ("get_many", [keys.user_key(owner), keys.inbox_key(owner)]) in calls
    assert not any(key == [keys.inbox_key(owner)] for _, key in calls)


def test_a_shared_board_list_is_one_sidecar_call_with_membership_and_assignee_names(app, sidecar_calls):
    from tests.conftest import Browser
    owner, editor, outsider = (Browser(app.test_client()) for _ in range(3))
    for person in (owner, editor, outsider):
        person.register()
    board_id = create_board(owner, "Reads team")
    assert invite(owner, board_id, editor, "editor").status_code == 302
    editor_id = user_id_of(editor)
    task_id = board_task(owner, board_id, title="Theirs to do", assignee=editor_id, tags="team")
    owner.get(f"/tasks?board={board_id}")  # the "Created" flash goes

    html, calls = _page(editor, f"/tasks?board={board_id}", sidecar_calls)
    assert calls == [("get_many", [store.index_key(board_id), keys.inbox_key(editor_id), keys.user_key(editor_id),
                                   f"boards-of:{editor_id}", f"board:{board_id}"])]
    row = _row_html(html, task_id)
    assert f"@{editor.username}" in row and "#team" in row and "Tasks of Reads team" in html
    assert "New task" in html  # an editor may add tasks

    sidecar_calls.clear()
    assert outsider.get(f"/tasks?board={board_id}").status_code == 404  # the same answer as no board
    assert [name for name, _ in sidecar_calls] == ["get_many"]


def test_a_page_of_a_thousand_tasks_is_still_one_call(user, owner, gateway, sidecar_calls):
    now = datetime.now(timezone.utc)
    tasks = [model.new_task(owner, TaskFields(title=f"Seeded {i:04d}", priority=("low", "medium", "high")[i % 3],
                                              tags=(f"t{i % 7}",)), now - timedelta(seconds=i)) for i in range(1000)]
    for start in range(0, len(tasks), 100):  # seeded directly (a thousand creates through the form take long)
        gateway.transact([Upsert(store.task_key(t.id), {**t.to_dict(), "outbox": []}) for t in tasks[start:start + 100]])
    index = gateway.get(store.index_key(owner))
    gateway.save_versioned(index.key, {"ids": [t.id for t in tasks],
                                       "rows": {t.id: Summary.of(t).to_row() for t in tasks}}, index.etag)
    html, calls = _page(user, "/tasks?priority=high&sort=title&page=3", sidecar_calls)
    assert len(calls) == 1 and calls[0][0] == "get_many"
    assert "333 tasks match" in html and "Page 3 of 17" in html
    assert [f"Seeded {i:04d}" for i in range(122, 180, 3)] == re.findall(r'class="task-title"[^>]*>([^<]+)<', html)


def test_a_search_reads_the_tasks_too(user, owner, sidecar_calls):
    found = user.create_task(title="Unremarkable", description="the hidden needle")
    user.create_task(title="Other")
    user.get("/tasks")
    html, calls = _page(user, "/tasks?q=needle", sidecar_calls)
    assert [name for name, _ in calls] == ["get_many", "get_many"]  # the index with the badge, then the tasks
    assert f'href="/tasks/{found}"' in html and "1 task match" in html and "Other" not in html


def test_rows_of_an_older_layout_are_rebuilt_and_then_read_alone(user, owner, gateway, sidecar_calls):
    task_id = user.create_task(title="Laid out before", recurrence="daily", due_at="2030-05-01T09:00")
    index = gateway.get(store.index_key(owner))
    at = ROW_FIELDS.index("recurrence")
    old = {i: [*row[:at], *row[at + 1:]] for i, row in index.value["rows"].items()}  # without the column
    gateway.save(index.key, {**index.value, "rows": old}, etag=index.etag)

    html, calls = _page(user, "/tasks", sidecar_calls)
    assert "Repeats daily" in _row_html(html, task_id)
    rebuilt = gateway.get(store.index_key(owner)).value["rows"][task_id]
    assert Summary.from_row(task_id, rebuilt).recurrence == "daily"
    assert ("get_many", [store.task_key(task_id)]) in calls  # the documents were read to rebuild
    html, calls = _page(user, "/tasks", sidecar_calls)
    assert len(calls) == 1 and "Repeats daily" in _row_html(html, task_id)


def test_an_inbox_append_is_one_read_and_one_write_and_a_duplicate_only_the_read(owner, sidecar_calls):
    head = keys.inbox_key(owner)
    sidecar_calls.clear()
    _notify(owner, "first")
    assert sidecar_calls == [("get", [head]), ("create", [head])]  # the head did not exist yet
    sidecar_calls.clear()
    _notify(owner, "second")
    assert sidecar_calls == [("get", [head]), ("save", [head])]
    sidecar_calls.clear()
    _notify(owner, "first")  # redelivered: no second entry, nothing written
    assert sidecar_calls == [("get", [head])]
    assert [entry["id"] for entry in inbox.page(owner, 1).items] == ["second", "first"]
