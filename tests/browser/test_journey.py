"""A user's journey through Taskboard in a real browser (Chromium), against the gunicorn-served stack.

register → create → list → edit → edit conflict (two tabs) → re-apply → complete → notification →
delete → undo → delete again, one named step each; plus form errors, keyboard access and the mobile
layout. Full-page screenshots go to test-artifacts/screenshots/ for a human to look at.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from .actions import MOBILE, create_task, register, reload_until, submit


def task_row(page: Page, title: str):
    return page.locator("li.task").filter(has=page.get_by_role("link", name=title, exact=True))


def test_task_journey(page: Page, screenshots):
    run = uuid.uuid4().hex[:6]
    register(page)  # lands on the new-task form, signed in
    title = f"Write the Q3 report {run}"
    task_id = create_the_task(page, title)
    other = f"Buy printer paper {run}"  # a second, plainer task so the list shows more than one row
    create_task(page, other, priority="low", tags="home")
    see_both_in_the_list(page, screenshots, title, other)
    title = edit_from_the_list(page, task_id, title, f"Write the Q3 report (with charts) {run}")
    title = conflicting_edits_in_two_tabs(page, screenshots, task_id, f"Q3 report, final {run}")
    complete(page, task_id, title)
    see_the_notification_and_history(page, screenshots)
    read_the_inbox(page, screenshots, task_id, title)
    delete_undo_and_delete_again(page, task_id, title, other, run)


def create_the_task(page: Page, title: str) -> str:
    """Create a task with every main field set; its detail page shows them all."""
    task_id = create_task(page, title, description="Numbers from finance.\nDraft by Friday.", priority="high",
                          tags="Work, q3", due="2030-05-17T14:30")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", task_id)
    assert page.url.endswith(f"/tasks/{task_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    meta = page.locator("article .task-meta")
    expect(meta.locator(".status-pending")).to_have_text("Pending")
    expect(meta.locator(".priority-high")).to_have_text("High")
    expect(meta.get_by_role("link", name="#work")).to_be_visible()  # tags are normalised to lower case
    expect(meta.get_by_role("link", name="#q3")).to_be_visible()
    expect(page.locator("article .description")).to_have_text("Numbers from finance.\nDraft by Friday.")
    expect(page.locator(".facts")).to_contain_text("Fri 17 May 2030, 14:30")
    return task_id


def see_both_in_the_list(page: Page, screenshots, title: str, other: str) -> None:
    resp = page.goto("/tasks")
    assert resp.status == 200
    expect(page.locator("#count")).to_have_text("2 tasks")
    row = task_row(page, title)
    expect(row).to_have_count(1)
    expect(row.locator(".priority-high")).to_have_text("High")
    expect(row.locator(".due")).to_have_text("Due Fri 17 May 2030, 14:30")
    expect(row.get_by_role("link", name="#work")).to_be_visible()
    expect(task_row(page, other).locator(".priority-low")).to_have_text("Low")
    page.screenshot(path=screenshots / "list.png", full_page=True)


def edit_from_the_list(page: Page, task_id: str, title: str, new_title: str) -> str:
    """The row's Edit link opens the form filled with the stored values; saving shows the change."""
    task_row(page, title).get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task_id}/edit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit task")
    expect(page.get_by_label("Title")).to_have_value(title)
    expect(page.get_by_label("Priority")).to_have_value("high")
    expect(page.get_by_label("Tags")).to_have_value("work, q3")
    expect(page.get_by_label("Due")).to_have_value("2030-05-17T14:30")
    page.get_by_label("Title").fill(new_title)
    page.get_by_label("Status").select_option("in_progress")
    resp = submit(page, page.get_by_role("button", name="Save changes"))
    assert resp.status == 200
    assert page.url.endswith(f"/tasks/{task_id}")
    expect(page.locator(".flash-success")).to_have_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(new_title)
    expect(page.locator("article .task-meta .status-in_progress")).to_have_text("In progress")
    return new_title


def conflicting_edits_in_two_tabs(tab_a: Page, screenshots, task_id: str, title_a: str) -> str:
    """The edit form open in two tabs: the first save wins, the second gets the 409 page and
    re-applies its change on top. Returns the title the task ends with."""
    tab_b = tab_a.context.new_page()
    for tab in (tab_a, tab_b):
        assert tab.goto(f"/tasks/{task_id}/edit").status == 200
    version_read = tab_b.locator("input[name=version]").input_value()
    assert version_read

    tab_a.get_by_label("Title").fill(title_a)
    resp = submit(tab_a, tab_a.get_by_role("button", name="Save changes"))
    assert resp.status == 200
    expect(tab_a.get_by_role("heading", level=1)).to_have_text(title_a)

    tab_b.get_by_label("Description").fill("Tab B: add the hiring numbers.")
    resp = submit(tab_b, tab_b.get_by_role("button", name="Save changes"))
    assert resp.status == 409, f"stale save answered {resp.status}"
    reapply = see_the_conflict_page(tab_b, title_a, version_read)
    tab_b.screenshot(path=screenshots / "conflict.png", full_page=True)
    # Nothing was overwritten by the stale save.
    assert tab_a.reload().status == 200
    expect(tab_a.locator("article .description")).to_have_text("Numbers from finance.\nDraft by Friday.")

    resp = submit(tab_b, reapply)
    assert resp.status == 200, f"re-apply answered {resp.status}"
    assert tab_b.url.endswith(f"/tasks/{task_id}")
    expect(tab_b.locator(".flash-success")).to_have_text("Saved.")
    expect(tab_b.locator("article .description")).to_have_text("Tab B: add the hiring numbers.")
    title = tab_b.get_by_role("heading", level=1).inner_text()  # the re-applied form carries tab B's title
    tab_b.close()
    return title


def see_the_conflict_page(tab_b: Page, title_a: str, version_read: str):
    """Both versions side by side, only tab B's change re-applied on the stored version; the Re-apply button."""
    expect(tab_b.get_by_role("heading", level=1)).to_have_text("This task was changed while you were working on it")
    expect(tab_b.locator(".conflict-label")).to_have_text("Conflict")
    current = tab_b.locator("section[aria-labelledby=current-h]")
    yours = tab_b.locator("section[aria-labelledby=yours-h]")
    expect(current.get_by_role("heading", name="Current version")).to_be_visible()
    expect(current.locator(".facts")).to_contain_text(title_a)  # what tab A saved
    expect(current.locator(".facts .description")).to_have_text("Numbers from finance.\nDraft by Friday.")
    expect(yours.get_by_role("heading", name="Your change")).to_be_visible()
    expect(yours.get_by_label("Description")).to_have_value("Tab B: add the hiring numbers.")
    # Only what tab B changed is re-applied: tab A's new title is kept, not reverted.
    expect(yours.get_by_label("Title")).to_have_value(title_a)
    # Re-applying goes on top of the version now stored, not the stale one the tab had read.
    new_version = yours.locator("input[name=version]").input_value()
    assert new_version and new_version != version_read
    reapply = yours.get_by_role("button", name="Re-apply my change")
    expect(reapply).to_be_visible()
    return reapply


def complete(page: Page, task_id: str, title: str) -> None:
    assert page.goto(f"/tasks/{task_id}").status == 200
    resp = submit(page, page.locator("article").get_by_role("button", name="Complete"))
    assert resp.status == 200
    expect(page.locator(".flash-success")).to_have_text(f"Completed “{title}”.")
    expect(page.locator("article .task-meta .status-completed")).to_have_text("Completed")
    expect(page.locator("article").get_by_role("button", name="Reopen")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Completed")


def see_the_notification_and_history(page: Page, screenshots) -> None:
    """The notification arrives (invocation → binding → pub/sub → inbox) and the history fills in."""
    badge = page.locator(".nav .badge")
    history = page.locator("ol.history")
    reload_until(page, lambda: badge.count() == 1 and history.get_by_text("Completed", exact=True).count() == 1)
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("aria-label", "1 unread")
    expect(history.get_by_text("Created", exact=True)).to_have_count(1)
    expect(history.get_by_text("Edited", exact=True)).to_have_count(3)
    page.screenshot(path=screenshots / "detail.png", full_page=True)


def read_the_inbox(page: Page, screenshots, task_id: str, title: str) -> None:
    """The inbox shows it unread; opening the inbox marks nothing read, "Mark all read" does."""
    resp = page.goto("/notifications")
    assert resp.status == 200
    note = page.locator(".inbox .notification").filter(has_text=f"“{title}” was completed.")
    expect(note).to_have_count(1)
    expect(note).to_have_class(re.compile(r"\bunread\b"))
    expect(note.locator(".new")).to_have_text("New")
    expect(note.get_by_role("link", name="Open task")).to_have_attribute("href", f"/tasks/{task_id}")
    page.screenshot(path=screenshots / "inbox.png", full_page=True)
    assert page.reload().status == 200
    expect(note).to_have_class(re.compile(r"\bunread\b"))
    resp = submit(page, page.get_by_role("button", name="Mark all read"))
    assert resp.status == 200
    expect(page.locator(".nav .badge")).to_have_count(0)
    expect(page.locator(".inbox .notification.unread")).to_have_count(0)


def delete_undo_and_delete_again(page: Page, task_id: str, title: str, other: str, run: str) -> None:
    """Delete: gone from the list, whose message offers Undo; Undo brings it back as it was;
    deleted again (not undone), its page is a 404."""
    undo = delete(page, task_id, title, other, run)
    resp = submit(page, undo)
    assert resp.status == 200
    assert page.url.endswith("/tasks")
    expect(page.locator(".flash-success")).to_have_text(f"Restored “{title}”.")
    expect(page.locator("#count")).to_have_text("2 tasks")
    expect(task_row(page, title)).to_have_count(1)
    assert page.goto(f"/tasks/{task_id}").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("article .task-meta .status-completed")).to_have_text("Completed")

    delete(page, task_id, title, other, run)
    resp = page.goto(f"/tasks/{task_id}")
    assert resp.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


def delete(page: Page, task_id: str, title: str, other: str, run: str):
    """Delete from the task's page: the list without it, and its "Deleted …" message; the Undo button."""
    assert page.goto(f"/tasks/{task_id}").status == 200
    resp = submit(page, page.locator("article").get_by_role("button", name="Delete"))
    assert resp.status == 200
    assert page.url.endswith("/tasks")
    message = page.locator(".flashes")  # the list's own: no other message follows a delete
    expect(message).to_have_text(f"Deleted “{title}”. Undo")
    expect(message.locator(".flash-success")).to_contain_text(f"Deleted “{title}”.")
    expect(page.locator("#count")).to_have_text("1 task")
    expect(task_row(page, title)).to_have_count(0)
    expect(page.locator("li.task").get_by_role("link", name=re.compile(re.escape(run)))).to_have_count(1)
    expect(task_row(page, other)).to_have_count(1)
    undo = message.get_by_role("button", name="Undo")
    expect(undo).to_be_visible()
    return undo


def test_form_errors_store_nothing(page: Page, screenshots):
    register(page)
    assert page.goto("/tasks/new").status == 200

    # An empty title.
    resp = submit(page, page.get_by_role("button", name="Create task"))
    assert resp.status == 422
    assert page.url.endswith("/tasks/new")
    expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
    title = page.get_by_label("Title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#title-errors")).to_have_text("Give the task a title.")
    expect(title).to_have_accessible_description("Give the task a title.")

    # A 300-character title (the limit is 200). The browser itself stops typing at 200 (maxlength)...
    expect(title).to_have_attribute("maxlength", "200")
    title.fill("y" * 300)
    assert len(title.input_value()) == 200
    # ...so lift that guard, as an old browser or a script would, to reach the server's own check;
    # the other fields must come back as typed.
    title.evaluate("el => el.removeAttribute('maxlength')")
    title.fill("x" * 300)
    assert len(title.input_value()) == 300
    page.get_by_label("Tags").fill("alpha, beta")
    page.get_by_label("Priority").select_option("high")
    resp = submit(page, page.get_by_role("button", name="Create task"))
    assert resp.status == 422
    expect(page.locator("#title-errors")).to_contain_text("200")
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Title")).to_have_value("x" * 300)
    expect(page.get_by_label("Tags")).to_have_value("alpha, beta")
    expect(page.get_by_label("Priority")).to_have_value("high")
    expect(page.locator(".field.has-errors")).to_have_count(1)
    page.screenshot(path=screenshots / "form-errors.png", full_page=True)

    # Nothing was stored.
    assert page.goto("/tasks").status == 200
    expect(page.locator("#count")).to_have_text("0 tasks")
    expect(page.locator("li.task")).to_have_count(0)
    expect(page.locator(".empty")).to_contain_text("No tasks yet.")


def test_first_tab_reaches_skip_link(page: Page):
    assert page.goto("/login").status == 200
    skip = page.get_by_role("link", name="Skip to content")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    # Hidden off-screen until focused, then on screen.
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0, box
    # Following it moves the keyboard past the navigation to the form.
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/login#main$"))
    page.keyboard.press("Tab")
    expect(page.get_by_label("Username")).to_be_focused()


def test_mobile_list(new_context, screenshots):
    page = new_context(viewport=MOBILE, is_mobile=True, has_touch=True).new_page()
    register(page)
    run = uuid.uuid4().hex[:6]
    create_task(page, f"Renew the passport before the summer trip {run}", priority="high",
                tags="admin, travel, family", due="2030-06-01T09:00")
    create_task(page, f"Call the plumber {run}", tags="home")
    assert page.goto("/tasks").status == 200
    expect(page.locator("li.task")).to_have_count(2)
    page.screenshot(path=screenshots / "list-mobile.png", full_page=True)
    # Nothing wider than the screen: no sideways scrolling.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"], f"page is {width}px wide on a {MOBILE['width']}px screen"
    for name in ("Tasks", "New task", "Notifications"):
        link = page.locator(".nav").get_by_role("link", name=name, exact=True)
        expect(link).to_be_in_viewport()
