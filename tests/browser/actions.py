"""Helpers for the browser tests: act like a user through the real forms."""

from __future__ import annotations

import time
import uuid

from playwright.sync_api import Page, Response, expect

PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}


def unique_username(prefix: str = "pw") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def submit(page: Page, button) -> Response:
    """Click a submit button and return the final document response (after any redirect)."""
    with page.expect_response(lambda r: r.request.resource_type == "document" and r.request.frame == page.main_frame
                              and not 300 <= r.status < 400) as info:
        button.click()
    page.wait_for_load_state("domcontentloaded")
    return info.value


def register(page: Page, username: str | None = None) -> str:
    """Register through the real form; lands on the new-task page, signed in."""
    username = username or unique_username()
    resp = page.goto("/register")
    assert resp.status == 200
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    resp = submit(page, page.get_by_role("button", name="Create account"))
    assert resp.status == 200, page.content()[:2000]
    assert page.url.endswith("/tasks/new")
    expect(page.locator(".flash-success")).to_contain_text(f"Welcome, {username}!")
    expect(page.locator(".nav .user")).to_have_text(username)
    return username


def create_task(page: Page, title: str, *, description: str = "", priority: str | None = None,
                tags: str = "", due: str = "") -> str:
    """Create a task through the form; returns its id (from the detail page URL)."""
    resp = page.goto("/tasks/new")
    assert resp.status == 200
    page.get_by_label("Title").fill(title)
    if description:
        page.get_by_label("Description").fill(description)
    if priority:
        page.get_by_label("Priority").select_option(priority)
    if tags:
        page.get_by_label("Tags").fill(tags)
    if due:
        page.get_by_label("Due").fill(due)
    resp = submit(page, page.get_by_role("button", name="Create task"))
    assert resp.status == 200, page.content()[:2000]
    expect(page.locator(".flash-success")).to_have_text(f"Created “{title}”.")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def reload_until(page: Page, ready, timeout: float = 15.0, interval: float = 0.5) -> None:
    """Reload the page until ``ready()`` is truthy (events and notifications arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.url}: condition not met within {timeout}s")
        time.sleep(interval)
        resp = page.reload()
        assert resp.status == 200, f"{page.url} answered {resp.status} while polling"
