"""Task pages on the real sidecar: CRUD, filters, conflicts, isolation, errors."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import pytest

from tests.conftest import Browser, eventually, without_csrf


def test_create_and_see_it_in_the_list_and_detail(user):
    task_id = user.create_task(title="Write report", description="Q3 numbers", priority="high",
                               tags="work, q3", due_at="2026-12-01T10:00")
    listing = user.get("/tasks").get_data(as_text=True)
    assert "Write report" in listing and "#q3" in listing
    detail = user.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Q3 numbers" in detail and "High" in detail and "Tue 1 Dec 2026, 10:00" in detail


def test_invalid_task_form_rerenders_with_errors_and_stores_nothing(user):
    resp = user.form_post("/tasks/new", {"title": "", "status": "pending", "priority": "medium",
                                         "recurrence": "none", "tags": "x" * 40})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Give the task a title." in html and "at most 32 characters" in html
    assert "No tasks yet" in user.get("/tasks").get_data(as_text=True)


def test_filters_search_sort_and_pages(user, app):
    for i in range(3):
        user.create_task(title=f"Home chore {i}", priority="low", tags="home")
    user.create_task(title="Urgent work", priority="high", tags="work")
    html = user.get("/tasks?priority=high").get_data(as_text=True)
    assert "Urgent work" in html and "Home chore" not in html
    html = user.get("/tasks?tag=home&q=chore+1").get_data(as_text=True)
    assert "Home chore 1" in html and "Home chore 2" not in html
    html = user.get("/tasks?sort=priority").get_data(as_text=True)
    assert html.index("Urgent work") < html.index("Home chore")
    html = user.get("/tasks?status=bogus").get_data(as_text=True)
    assert "Some filters were not understood" in html


def test_pagination(user, app):
    app.config["TASKS_PER_PAGE"] = 2
    try:
        for i in range(5):
            user.create_task(title=f"Item {i}")
        page3 = user.get("/tasks?page=3&sort=title").get_data(as_text=True)
        assert "Page 3 of 3" in page3 and "Item 4" in page3 and "Item 0" not in page3
    finally:
        app.config["TASKS_PER_PAGE"] = 20


def test_edit_saves_and_records_history(user):
    task_id = user.create_task(title="Draft")
    resp = user.form_post(f"/tasks/{task_id}/edit", {
        "title": "Final", "description": "", "status": "in_progress", "priority": "low", "tags": "",
        "due_at": "", "remind_at": "", "recurrence": "none", "version": user.version_of(task_id)})
    assert resp.status_code == 302
    eventually(lambda: "Edited" in user.get(f"/tasks/{task_id}").get_data(as_text=True))
    html = user.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Final" in html and "In progress" in html


def test_concurrent_edit_gets_the_conflict_page_and_overwrites_nothing(user):
    task_id = user.create_task(title="Original")
    stale = user.version_of(task_id)
    edit = {"description": "", "status": "pending", "priority": "medium", "tags": "", "due_at": "",
            "remind_at": "", "recurrence": "none"}
    first = user.form_post(f"/tasks/{task_id}/edit", {**edit, "title": "Theirs", "version": stale})
    assert first.status_code == 302
    second = user.form_post(f"/tasks/{task_id}/edit", {**edit, "title": "Mine", "version": stale})
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Theirs" in html and 'value="Mine"' in html and "Re-apply my change" in html
    assert "Theirs" in user.get(f"/tasks/{task_id}").get_data(as_text=True)
    # Re-applying sends the current version: it now succeeds.
    current = user.version_of(task_id)
    again = user.form_post(f"/tasks/{task_id}/edit", {**edit, "title": "Mine", "version": current})
    assert again.status_code == 302
    assert "Mine" in user.get(f"/tasks/{task_id}").get_data(as_text=True)


@pytest.mark.parametrize("action", ["complete", "delete"])
def test_stale_complete_or_delete_is_a_conflict(user, action):
    task_id = user.create_task(title="Contested")
    stale = user.version_of(task_id)
    user.form_post(f"/tasks/{task_id}/edit", {"title": "Changed", "status": "pending", "priority": "medium",
                                               "recurrence": "none", "version": stale})
    resp = user.action(task_id, action, version=stale)
    assert resp.status_code == 409 and "Changed" in resp.get_data(as_text=True)
    assert user.get(f"/tasks/{task_id}").status_code == 200  # still there, not completed
    assert "Completed" not in user.get(f"/tasks/{task_id}").get_data(as_text=True).split("History")[0]


def test_complete_reopen_delete(user):
    task_id = user.create_task(title="Lifecycle")
    assert user.action(task_id, "complete").status_code == 302
    assert "Reopen" in user.get(f"/tasks/{task_id}").get_data(as_text=True)
    completing_again = user.action(task_id, "complete")
    assert completing_again.status_code == 302  # a flash says it already is; nothing breaks
    assert user.action(task_id, "reopen").status_code == 302
    assert user.action(task_id, "delete").status_code == 302
    assert user.get(f"/tasks/{task_id}").status_code == 404
    listing = user.get("/tasks").get_data(as_text=True)
    assert "Deleted “Lifecycle”." in listing and f'href="/tasks/{task_id}"' not in listing  # (with Undo)
    assert "Lifecycle" not in user.get("/tasks").get_data(as_text=True)


def _undo_form(html: str) -> str | None:
    match = re.search(r'<form method="post" action="(/tasks/[0-9a-f]+/restore)"', html)
    return match.group(1) if match else None


def test_delete_then_undo_restores_the_task_with_its_fields(user):
    task_id = user.create_task(title="Undo me", description="Keep every word", priority="high",
                               tags="home, later", due_at="2030-05-01T09:30", remind_at="2030-05-01T09:00")
    before = user.get(f"/tasks/{task_id}").get_data(as_text=True)
    deleted = user.action(task_id, "delete")
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith("/tasks")
    listing = user.get("/tasks").get_data(as_text=True)
    assert "Deleted “Undo me”." in listing and _undo_form(listing) == f"/tasks/{task_id}/restore"
    assert f'href="/tasks/{task_id}"' not in listing
    assert user.get(f"/tasks/{task_id}").status_code == 404
    assert _undo_form(user.get("/tasks").get_data(as_text=True)) is None  # offered once, right after

    undone = user.form_post(f"/tasks/{task_id}/restore", {}, page_url="/tasks")
    assert undone.status_code == 302
    listing = user.get("/tasks").get_data(as_text=True)
    assert "Restored “Undo me”." in listing and f'href="/tasks/{task_id}"' in listing
    after = user.get(f"/tasks/{task_id}").get_data(as_text=True)
    for text in ("Keep every word", "High", "#home", "#later", "Wed 1 May 2030, 09:30", "Wed 1 May 2030, 09:00"):
        assert text in before and text in after, text
    eventually(lambda: "Restored" in user.get(f"/tasks/{task_id}").get_data(as_text=True))
    # Restored at a new version: the old one is stale, the current one works.
    assert user.action(task_id, "complete", version="1").status_code == 409
    assert user.action(task_id, "complete").status_code == 302


def test_undo_twice_or_of_a_missing_or_live_task_is_404(user):
    task_id = user.create_task(title="Once")
    assert user.form_post(f"/tasks/{task_id}/restore", {}, page_url="/tasks").status_code == 404  # not deleted
    user.action(task_id, "delete")
    assert user.form_post(f"/tasks/{task_id}/restore", {}, page_url="/tasks").status_code == 302
    again = user.form_post(f"/tasks/{task_id}/restore", {}, page_url="/tasks")
    assert again.status_code == 404 and "There is nothing here." in again.get_data(as_text=True)
    missing = user.form_post(f"/tasks/{'0' * 32}/restore", {}, page_url="/tasks")
    assert missing.status_code == 404
    assert user.get("/tasks").get_data(as_text=True).count(f'href="/tasks/{task_id}"') == 1


def test_undo_of_a_task_someone_else_deleted_is_404(user, other_user):
    task_id = user.create_task(title="Not yours to restore")
    user.action(task_id, "delete")
    assert other_user.form_post(f"/tasks/{task_id}/restore", {}, page_url="/tasks").status_code == 404
    assert user.get(f"/tasks/{task_id}").status_code == 404  # still deleted
    assert "Not yours to restore" not in other_user.get("/tasks").get_data(as_text=True)


def test_another_users_task_is_exactly_like_a_missing_one(user, other_user):
    task_id = user.create_task(title="Private plans")
    other_user.get("/tasks")  # consume the welcome flash so both pages render alike
    missing = other_user.get("/tasks/0123456789abcdef0123456789abcdef")
    theirs = other_user.get(f"/tasks/{task_id}")
    assert theirs.status_code == missing.status_code == 404
    assert without_csrf(theirs.get_data(as_text=True)) == without_csrf(missing.get_data(as_text=True))
    assert other_user.get(f"/tasks/{task_id}/edit").status_code == 404
    for action in ("complete", "reopen", "delete"):
        resp = other_user.form_post(f"/tasks/{task_id}/{action}", {"version": "1"}, page_url="/tasks")
        assert resp.status_code == 404, action
    edit = other_user.form_post(f"/tasks/{task_id}/edit", {"title": "pwned", "status": "pending",
                                                            "priority": "low", "recurrence": "none",
                                                            "version": "1"}, page_url="/tasks/new")
    assert edit.status_code == 404
    assert "Private plans" not in other_user.get("/tasks").get_data(as_text=True)
    assert "Private plans" in user.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_missing_csrf_token_is_400_and_changes_nothing(user):
    task_id = user.create_task(title="Guarded")
    resp = user.client.post(f"/tasks/{task_id}/delete", data={"version": user.version_of(task_id)})
    assert resp.status_code == 400 and "form expired" in resp.get_data(as_text=True)
    assert user.get(f"/tasks/{task_id}").status_code == 200
    assert user.client.post("/tasks/new", data={"title": "x"}).status_code == 400


def test_unknown_route_gets_the_custom_404_page(user):
    resp = user.get("/no/such/page")
    assert resp.status_code == 404 and "Back to your tasks" in resp.get_data(as_text=True)


def test_xss_in_text_fields_renders_inert(user):
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    task_id = user.create_task(title=payload, description=payload, tags="<b>bold</b>")
    for url in ("/tasks", f"/tasks/{task_id}"):
        html = user.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_security_headers(user):
    resp = user.get("/tasks")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"]
    cookie = resp.request.environ  # the session cookie flags are set at login:
    set_cookie = Browser(user.client.application.test_client())
    login = set_cookie.form_post("/login", {"username": user.username, "password": "correct horse battery"})
    header = login.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_reapplying_after_a_conflict_keeps_the_other_persons_changes(user):
    task_id = user.create_task(title="Plan", description="first draft")
    form_page = user.get(f"/tasks/{task_id}/edit").get_data(as_text=True)
    original = re.search(r'name="original" type="hidden" value="([^"]*)"', form_page).group(1)
    stale = user.version_of(task_id)
    base = {"status": "pending", "priority": "medium", "tags": "", "due_at": "", "remind_at": "",
            "recurrence": "none"}
    # Someone else renames it ...
    user.form_post(f"/tasks/{task_id}/edit", {**base, "title": "Plan v2", "description": "first draft",
                                               "version": stale})
    # ... while I, from the same starting point, only change the description.
    mine = user.form_post(f"/tasks/{task_id}/edit", {**base, "title": "Plan", "description": "my notes",
                                                      "version": stale, "original": html.unescape(original)})
    page = mine.get_data(as_text=True)
    assert mine.status_code == 409
    retry = page.split("Your change", 1)[1]
    assert 'value="Plan v2"' in retry and "my notes" in retry  # their title, my description
    assert 'class="field  differs' in retry or "differs" in retry


def _index(gateway, owner):
    from webapp.tasks import store
    return gateway.get(store.index_key(owner)).value


def _row(gateway, owner, task_id):
    from webapp.tasks.rows import Summary
    return Summary.from_row(task_id, _index(gateway, owner)["rows"][task_id])


def test_the_index_keeps_a_row_per_task_through_every_change(user, owner, gateway):
    first, second = user.create_task(title="One", tags="a"), user.create_task(title="Two")
    assert _row(gateway, owner, first)[1:5] == ("One", "pending", "medium", ("a",))
    assert _row(gateway, owner, second).revision == 1
    user.action(first, "complete")
    assert _row(gateway, owner, first).status == "completed"
    user.action(second, "delete")
    # The tombstone (kept for undo) has a tombstone row: out of the list, back in it on undo.
    assert _index(gateway, owner)["rows"][second] == {"deleted": True, "revision": 2}
    assert f'href="/tasks/{second}"' not in user.get("/tasks").get_data(as_text=True)
    user.form_post(f"/tasks/{second}/restore", {}, page_url="/tasks")
    assert (_row(gateway, owner, second).title, _row(gateway, owner, second).revision) == ("Two", 3)


def test_the_list_page_shows_the_rows_and_the_sweep_repairs_one_written_behind_them(user, owner, gateway):
    from webapp.background import sweep
    from webapp.tasks import store
    task_id = user.create_task(title="Written behind the index")
    item = gateway.get(store.task_key(task_id))
    # A write past the app (the writers change the row with the task): the document moves on, the row does not.
    gateway.save(item.key, {**item.value, "status": "completed", "revision": 2}, etag=item.etag)
    user.get("/tasks")  # (shows the "Created" flash, which names the task)
    assert f"/tasks/{task_id}" in user.get("/tasks?status=pending").get_data(as_text=True)  # rows alone: no read
    assert _row(gateway, owner, task_id).status == "pending"
    sweep.sweep_batch([owner])
    assert (_row(gateway, owner, task_id).status, _row(gateway, owner, task_id).revision) == ("completed", 2)
    assert f"/tasks/{task_id}" in user.get("/tasks?status=completed").get_data(as_text=True)


def test_ids_without_rows_are_listed_and_get_rows(user, owner, gateway):
    from webapp.tasks import store
    kept, gone = user.create_task(title="Indexed before rows"), "0" * 32
    index = gateway.get(store.index_key(owner))
    gateway.save(index.key, {"ids": [gone, *index.value["ids"]]}, etag=index.etag)  # the old layout, a dangling id
    assert "Indexed before rows" in user.get("/tasks").get_data(as_text=True)
    repaired = _index(gateway, owner)
    assert repaired["ids"] == [kept] and _row(gateway, owner, kept).title == "Indexed before rows"


def test_the_sweep_repairs_every_row(user, owner, gateway):
    from webapp.background import sweep
    from webapp.tasks import store
    task_id = user.create_task(title="Before")
    item = gateway.get(store.task_key(task_id))
    gateway.save(item.key, {**item.value, "title": "After", "revision": 5}, etag=item.etag)
    sweep.sweep_batch([owner])
    assert _row(gateway, owner, task_id).title == "After"


def test_an_estimate_is_edited_shown_listed_and_sorted(user, owner, gateway):
    long_job = user.create_task(title="Long job", estimate="2h")
    short_job = user.create_task(title="Short job", estimate="90m")
    user.create_task(title="Unestimated job")
    detail = user.get(f"/tasks/{short_job}").get_data(as_text=True)  # (also shows the three "Created" flashes)
    assert "<dt>Estimate</dt><dd>1 h 30 min</dd>" in detail
    assert 'name="estimate" type="text" value="1h30m"' in user.get(f"/tasks/{short_job}/edit").get_data(as_text=True)
    listing = user.get("/tasks?sort=estimate").get_data(as_text=True)
    assert '<option selected value="estimate">Estimate</option>' in listing
    assert listing.index("Short job") < listing.index("Long job") < listing.index("Unestimated job")
    assert "Estimate: 1 h 30 min" in listing and "Estimate: 2 h" in listing
    assert (_row(gateway, owner, short_job).estimate, _row(gateway, owner, long_job).estimate) == (90, 120)
    edited = {"title": "Long job", "description": "", "status": "pending", "priority": "medium", "tags": "",
              "due_at": "", "remind_at": "", "recurrence": "none", "estimate": "",
              "version": user.version_of(long_job)}
    assert user.form_post(f"/tasks/{long_job}/edit", edited).status_code == 302
    assert "<dt>Estimate</dt><dd>—</dd>" in user.get(f"/tasks/{long_job}").get_data(as_text=True)


@pytest.mark.parametrize("estimate", ["soon", "1000h", "0m"])
def test_an_unreadable_estimate_rerenders_the_form(user, estimate):
    resp = user.form_post("/tasks/new", {"title": "Guess", "status": "pending", "priority": "medium",
                                         "recurrence": "none", "estimate": estimate})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Write a duration like 1h30m, 45m or 2h (1 minute to 999 hours)." in page
    assert 'id="estimate-errors"' in page and "No tasks yet" in user.get("/tasks").get_data(as_text=True)


def test_a_row_of_the_layout_before_estimates_is_rewritten_by_the_page(user, owner, gateway):
    from webapp.tasks import store
    task_id = user.create_task(title="Listed before estimates", estimate="45m")
    index = gateway.get(store.index_key(owner))
    old_row = index.value["rows"][task_id][:5] + index.value["rows"][task_id][6:]  # without the estimate
    gateway.save(index.key, {**index.value, "rows": {task_id: old_row}}, etag=index.etag)
    assert "Listed before estimates" in user.get("/tasks?sort=estimate").get_data(as_text=True)
    assert _row(gateway, owner, task_id).estimate == 45
