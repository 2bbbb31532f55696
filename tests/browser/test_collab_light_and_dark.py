"""The pages of working together, as two people see them, in light and in dark, at 1280 and 390 px.

Ann and Bob share a board: a task with a Markdown description, a checklist at 3/5, a due date and comments where
Bob mentions Ann; more tasks due at other times. Each page (the task page with a comment preview, the board, the
list with progress, My tasks, Settings with the calendar feed and appearance, the inbox with the mention) is opened
in the light scheme, in the dark one (``prefers-color-scheme`` emulated) and with dark chosen on Settings under a
light system (and the e-mail choices' checkboxes): nothing wider than the viewport, every control styled by the
scheme (no browser-default white field or button in dark), and a screenshot of each (test-artifacts/screenshots/, and the notes when present).
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .actions import DESKTOP, MOBILE, register, reload_until, submit
from .test_board import create_board, invite
from .test_board_live import sign_in

NOTES_SHOTS = Path("/work/notes/s26/shots/h-collab2")
# Controls whose background is the browser's own white in a dark page (the scheme did not style them).
UNSTYLED_IN_DARK = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
  .filter(el => el.offsetParent !== null && getComputedStyle(el).backgroundColor === 'rgb(255, 255, 255)')
  .map(el => el.tagName + (el.name ? '[' + el.name + ']' : '') + '.' + el.className).slice(0, 5)"""
WIDE = """() => Array.from(document.querySelectorAll('body *')).filter(el => el.getBoundingClientRect().right >
  document.documentElement.clientWidth + 0.5).slice(0, 5).map(el => el.tagName + '.' + el.className)"""


def _due(hours: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _task(page, board_id: str, title: str, due: str = "", description: str = "", assignee: str = "") -> str:
    assert page.goto(f"/tasks/new?board={board_id}").status == 200
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Due").fill(due)
    if assignee:
        page.get_by_label("Assigned to").select_option(label=assignee)
    assert submit(page, page.get_by_role("button", name="Create task")).status == 200
    return page.url.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def shared(browser, stack) -> dict:
    """Ann's and Bob's shared board with its tasks, comments and checklist; both signed in (storage states)."""
    run = uuid.uuid4().hex[:6]
    contexts = [browser.new_context(base_url=stack.url(), viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
                for _ in range(2)]
    ann, bob = (ctx.new_page() for ctx in contexts)
    ann_name, bob_name = register(ann, f"ann{run}"), register(bob, f"bob{run}")
    board_id = create_board(ann, f"Launch team {run}")
    invite(ann, board_id, bob_name, "editor")
    title = f"Prepare the launch {run}"
    task_id = _task(ann, board_id, title, _due(30), "## Plan\n\n**Ship** on Friday, see [the brief]"
                    "(https://example.org/brief).\n\n- press kit\n- demo video\n\n> Keep it short.", bob_name)
    for item in ("Write the post", "Record the demo", "Book the room", "Tell support", "Send the mail"):
        ann.get_by_label("New item").fill(item)
        assert submit(ann, ann.get_by_role("button", name="Add item")).status == 200
    for item in ("Write the post", "Record the demo", "Book the room"):
        assert submit(ann, ann.get_by_role("button", name=f"Tick “{item}”")).status == 200
    assert bob.goto(f"/tasks/{task_id}").status == 200
    bob.get_by_label("Add a comment").fill(f"Demo recorded. @{ann_name} can you **check** the `intro`?")
    assert submit(bob, bob.get_by_role("button", name="Comment", exact=True)).status == 200
    ann.goto(f"/tasks/{task_id}")
    ann.get_by_label("Add a comment").fill(f"Looks good, thanks @{bob_name}!\n\n1. intro\n2. outro")
    assert submit(ann, ann.get_by_role("button", name="Comment", exact=True)).status == 200
    _task(ann, board_id, f"Overdue review {run}", _due(-5))
    _task(ann, board_id, f"Today: call the printer {run}", _due(0.5))
    _task(ann, board_id, f"Undated idea {run}")
    assert ann.goto("/settings").status == 200
    assert submit(ann, ann.get_by_role("button", name="Create feed address")).status == 200
    assert ann.goto("/notifications").status == 200
    reload_until(ann, lambda: ann.get_by_text(f"{bob_name} mentioned you").count() > 0)
    states = {name: ctx.storage_state() for name, ctx in zip(("ann", "bob"), contexts)}
    for ctx in contexts:
        ctx.close()
    return {"board_id": board_id, "task_id": task_id, "ann": ann_name, "bob": bob_name, "states": states}


@pytest.mark.parametrize("look", ["light", "dark", "chosen-dark"])
def test_the_collaboration_pages_in_light_and_dark_at_1280_and_390(browser, stack, shared, screenshots, look):
    taken, found = [], {}
    for width, viewport in (("1280", DESKTOP), ("390", MOBILE)):
        ctx = browser.new_context(base_url=stack.url(), viewport=viewport, locale="en-GB", timezone_id="UTC",
                                  color_scheme="dark" if look == "dark" else "light")
        page = ctx.new_page()
        sign_in(page, shared["ann"])
        if look == "chosen-dark":  # dark chosen on Settings, the system light
            assert page.goto("/settings").status == 200
            page.get_by_label("Dark").check()
            assert submit(page, page.locator("#appearance").get_by_role("button", name="Save")).status == 200
            expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        task = f"/tasks/{shared['task_id']}"
        for name, path in (("task", task), ("board", f"/boards/{shared['board_id']}"),
                           ("list", f"/tasks?board={shared['board_id']}"), ("my", "/my"),
                           ("settings", "/settings"), ("inbox", "/notifications"), ("email-choices", "/account/email")):
            assert page.goto(path).status == 200, path
            if name == "task":  # a comment being previewed, below the checklist at 3/5
                expect(page.locator("#checklist-head")).to_contain_text("3/5")
                page.get_by_label("Add a comment").fill("Preview: *almost* there, @" + shared["bob"])
                assert submit(page, page.get_by_role("button", name="Preview", exact=True)).status == 200
            page.wait_for_load_state("load")
            wide = page.evaluate(WIDE)
            unstyled = page.evaluate(UNSTYLED_IN_DARK) if look != "light" else []
            if wide or unstyled:
                found[f"{name}-{width}"] = {"wide": wide, "unstyled": unstyled}
            shot = screenshots / f"collab2-{name}-{look}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            taken.append(shot)
        if look == "chosen-dark":  # back to following the system, for the other looks
            page.goto("/settings")
            page.get_by_label("As my system").check()
            assert submit(page, page.locator("#appearance").get_by_role("button", name="Save")).status == 200
        ctx.close()
    if NOTES_SHOTS.parent.exists():
        NOTES_SHOTS.mkdir(exist_ok=True)
        for shot in taken:
            shutil.copy(shot, NOTES_SHOTS / shot.name)
    assert found == {}, found
