"""Two people in a real browser: Ann assigns Bob a task on their board; Bob signs in and lands on My tasks, finds
it under Upcoming with its board, makes a calendar feed on Settings that a calendar client (icalendar) imports,
and picks the dark colour scheme. Screenshots of My tasks, Settings and the board at 1280 and 390 px, light
and dark."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from .actions import DESKTOP, MOBILE, PASSWORD, register, submit
from .test_board import create_board, invite

@pytest.fixture(scope="module")
def notes_shots():
    from pathlib import Path
    target = Path("/work/notes/s25/shots/h-mine")
    return target if target.parent.exists() else None


def test_an_assigned_task_is_on_my_tasks_and_in_the_calendar_feed(new_context, screenshots, notes_shots):
    run = uuid.uuid4().hex[:6]
    ann = new_context(viewport=DESKTOP).new_page()
    bob = new_context(viewport=DESKTOP).new_page()
    register(ann)
    bob_name = register(bob)
    board_id = create_board(ann, f"Launch {run}")
    invite(ann, board_id, bob_name, "editor")
    due = (datetime.now(timezone.utc) + timedelta(days=2)).replace(second=0, microsecond=0)
    assert ann.goto(f"/tasks/new?board={board_id}").status == 200
    ann.get_by_label("Title").fill(f"Book the venue {run}")
    ann.get_by_label("Due").fill(due.strftime("%Y-%m-%dT%H:%M"))
    ann.get_by_label("Repeats").select_option("weekly")
    ann.get_by_label("Assigned to").select_option(label=bob_name)
    assert submit(ann, ann.get_by_role("button", name="Create task")).status == 200

    assert submit(bob, bob.get_by_role("button", name="Sign out")).status == 200
    bob.get_by_label("Username").fill(bob_name)
    bob.get_by_label("Password").fill(PASSWORD)
    assert submit(bob, bob.get_by_role("button", name="Sign in")).status == 200
    assert bob.url.endswith("/my")  # on a shared board: sign-in lands on My tasks
    upcoming = bob.locator("section.my-group").filter(has=bob.get_by_role("heading", name=re.compile("^Upcoming")))
    expect(upcoming.get_by_role("link", name=f"Book the venue {run}")).to_be_visible()
    expect(upcoming.get_by_role("link", name=f"Launch {run}")).to_be_visible()

    assert bob.goto("/settings").status == 200
    bob.get_by_label("Tasks of").select_option("")
    assert submit(bob, bob.get_by_role("button", name="Create feed address")).status == 200
    url = bob.locator("code.feed-url").first.inner_text()
    feed = new_context().request.get(url)  # a calendar client: no session
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(feed.body()).walk("VEVENT")
    assert str(event["summary"]) == f"Book the venue {run}"
    assert event.decoded("dtstart") == due and event["rrule"].to_ical() == b"FREQ=WEEKLY"

    pages = {"my": "/my", "settings": "/settings", "board": f"/boards/{board_id}"}
    for scheme in ("light", "dark"):  # the scheme follows the system (emulated) until one is chosen
        bob.emulate_media(color_scheme=scheme)
        for viewport in (DESKTOP, MOBILE):
            bob.set_viewport_size(viewport)
            for name, path in pages.items():
                assert bob.goto(path).status == 200
                width = bob.evaluate("() => document.documentElement.scrollWidth")
                assert width <= viewport["width"], (name, viewport, width)
                shot = f"{name}-{scheme}-{viewport['width']}.png"
                bob.screenshot(path=screenshots / shot, full_page=True)
                if notes_shots is not None:
                    notes_shots.mkdir(parents=True, exist_ok=True)
                    bob.screenshot(path=notes_shots / shot, full_page=True)

    # Dark chosen on Settings wins over a light system, on every page; "As my system" follows it again.
    bob.emulate_media(color_scheme="light")
    assert bob.goto("/settings").status == 200
    bob.get_by_label("Dark").check()
    assert submit(bob, bob.locator("#appearance").get_by_role("button", name="Save")).status == 200
    expect(bob.locator("html")).to_have_attribute("data-theme", "dark")
    assert bob.goto(f"/boards/{board_id}").status == 200
    # Waited for, not read once: on a loaded machine the page's stylesheet may apply after the navigation
    # returned (CI read a body still unstyled, rgba(0, 0, 0, 0)).
    expect(bob.locator("body")).to_have_css("background-color", "rgb(15, 20, 27)", timeout=15_000)
    assert bob.goto("/settings").status == 200
    bob.get_by_label("As my system").check()
    assert submit(bob, bob.locator("#appearance").get_by_role("button", name="Save")).status == 200
    expect(bob.locator("body")).to_have_css("background-color", "rgb(245, 246, 248)", timeout=15_000)
