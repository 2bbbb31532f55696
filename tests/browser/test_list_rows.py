"""The list page in Chromium, rendered from the index rows alone: every column a task shows, at 1280 and 390 px."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from .actions import MOBILE, register, submit


def _create(page: Page, title: str, **fields: str) -> None:
    """Create a task through the form, setting the fields given by their labels."""
    assert page.goto("/tasks/new").status == 200
    page.get_by_label("Title").fill(title)
    for label, value in fields.items():
        control = page.get_by_label(label, exact=True)
        if control.evaluate("el => el.tagName") == "SELECT":
            control.select_option(label=value)
        else:
            control.fill(value)
    assert submit(page, page.get_by_role("button", name="Create task")).status == 200
    expect(page.locator(".flash-success")).to_have_text(f"Created “{title}”.")


def _row(page: Page, title: str):
    return page.locator("li.task").filter(has=page.get_by_role("link", name=title, exact=True))


def test_every_column_of_the_list_from_its_rows(new_context, screenshots):
    run = uuid.uuid4().hex[:6]
    page = new_context().new_page()
    name = register(page)
    full, done, plain = f"Quarterly report {run}", f"Filed away {run}", f"Plain one {run}"
    _create(page, full, Status="In progress", Priority="High", Tags="Work, q3", Due="2020-01-02T10:00",
            Repeats="Weekly", Estimate="1h30m", **{"Assigned to": name})
    _create(page, done, Status="Completed", Priority="Low")
    _create(page, plain)

    assert page.goto("/tasks").status == 200
    expect(page.locator("#count")).to_have_text("3 tasks")
    row = _row(page, full)
    expect(row).to_have_class("task  overdue")
    expect(row.locator(".status-in_progress")).to_have_text("In progress")
    expect(row.locator(".priority-high")).to_have_text("High")
    expect(row.get_by_role("link", name="#work")).to_be_visible()
    expect(row.get_by_role("link", name="#q3")).to_be_visible()
    expect(row.locator(".due")).to_have_text("Due Thu 2 Jan 2020, 10:00 · overdue")
    expect(row).to_contain_text("Repeats weekly")
    expect(row.locator(".field-estimate")).to_have_text("Estimate: 1 h 30 min")
    expect(row.locator(".assignee")).to_have_text(f"@{name}")
    expect(row.get_by_role("button", name="Complete")).to_be_visible()
    row = _row(page, done)
    expect(row).to_have_class("task done")
    expect(row.locator(".status-completed")).to_have_text("Completed")
    expect(row.locator(".priority-low")).to_have_text("Low")
    expect(row.get_by_role("button", name="Reopen")).to_be_visible()
    expect(_row(page, plain).locator(".status-pending")).to_have_text("Pending")
    page.screenshot(path=screenshots / "list-rows-1280.png", full_page=True)

    # The buttons post the row's version: completing from the list works (no conflict page).
    assert submit(page, _row(page, plain).get_by_role("button", name="Complete")).status == 200
    expect(page.locator(".flash-success")).to_have_text(f"Completed “{plain}”.")
    expect(_row(page, plain).locator(".status-completed")).to_have_text("Completed")

    phone = new_context(viewport=MOBILE, storage_state=page.context.storage_state()).new_page()
    assert phone.goto("/tasks").status == 200
    expect(_row(phone, full).locator(".assignee")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    phone.screenshot(path=screenshots / "list-rows-390.png", full_page=True)
