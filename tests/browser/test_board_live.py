"""Two people on one board at once, in a real browser: one assigns and moves a card, the other's open board
and task pages show "<who> moved …, Reload" within a few seconds (no reload), the other's stale move gets
the conflict page, and the assignee finds the notification in their inbox. Screenshots at 1280 and 390 px."""

from __future__ import annotations

import time
import uuid

from playwright.sync_api import expect

from .actions import DESKTOP, MOBILE, PASSWORD, register, reload_until, submit
from .test_board import card, column, create_board, invite

BANNER_SECONDS = 8_000  # the page polls every 2.5 s; an event reaches the feed in well under a second


def sign_in(page, username: str) -> None:
    assert page.goto("/login").status == 200
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    assert submit(page, page.locator("#main").get_by_role("button", name="Sign in")).status == 200
    expect(page.locator(".nav .user")).to_have_text(username)


def test_the_other_persons_page_learns_of_a_move_and_the_assignee_is_notified(new_context, screenshots):
    run = uuid.uuid4().hex[:6]
    errors: list[str] = []
    ann = new_context(viewport=DESKTOP).new_page()
    bob = new_context(viewport=DESKTOP).new_page()
    bob_phone = new_context(viewport=MOBILE)
    for page in (ann, bob):
        page.on("console", lambda m: m.type == "error" and "409" not in m.text and errors.append(m.text))  # CSP
    ann_name = register(ann)
    bob_name = register(bob)
    board_id = create_board(ann, f"Live {run}")
    invite(ann, board_id, bob_name, "editor")

    # Ann creates a card assigned to Bob: the form offers the board's members by name.
    title = f"Print the posters {run}"
    assert ann.goto(f"/tasks/new?board={board_id}").status == 200
    ann.get_by_label("Title").fill(title)
    ann.get_by_label("Priority").select_option("high")
    ann.get_by_label("Assigned to").select_option(label=bob_name)
    assert submit(ann, ann.get_by_role("button", name="Create task")).status == 200
    task_id = ann.url.rstrip("/").rsplit("/", 1)[-1]

    # Bob opens the board (and, on his phone, the task): both pages now hold version 1 and poll.
    assert bob.goto(f"/boards/{board_id}").status == 200
    expect(card(bob, title)).to_contain_text(f"@{bob_name}")
    expect(bob.locator("#changes")).to_be_hidden()
    phone = bob_phone.new_page()
    phone.on("console", lambda m: m.type == "error" and errors.append(m.text))
    sign_in(phone, bob_name)
    assert phone.goto(f"/tasks/{task_id}").status == 200
    expect(phone.locator(".facts")).to_contain_text(bob_name)

    # Ann moves the card; Bob's open pages learn of it without a reload.
    assert ann.goto(f"/boards/{board_id}").status == 200
    moved_at = time.monotonic()
    assert submit(ann, card(ann, title).get_by_role("button", name=f"Move “{title}” to In progress")).status == 200
    banner = bob.locator("#changes")
    expect(banner).to_be_visible(timeout=BANNER_SECONDS)
    seen_after = time.monotonic() - moved_at
    expect(banner).to_contain_text(f"{ann_name} moved “{title}” to In progress")
    expect(phone.locator("#changes")).to_contain_text(f"{ann_name} moved “{title}” to In progress",
                                                      timeout=BANNER_SECONDS)
    print(f"\nbanner on the other person's board page {seen_after:.1f} s after the move")
    expect(column(bob, "pending").get_by_role("link", name=title)).to_be_visible()  # not reloaded: still stale
    bob.screenshot(path=screenshots / "board-live-banner-1280.png", full_page=True)
    phone.screenshot(path=screenshots / "task-live-banner-390.png", full_page=True)
    expect(ann.locator("#changes")).to_be_hidden()  # Ann's own change is not news to her

    # Bob's stale move: the conflict page; then Reload shows the card where Ann put it.
    resp = submit(bob, card(bob, title).get_by_role("button", name=f"Move “{title}” to Completed"))
    assert resp.status == 409
    expect(bob.get_by_role("heading", level=1)).to_have_text("This task was changed while you were working on it")
    assert bob.goto(f"/boards/{board_id}").status == 200
    expect(column(bob, "in_progress").get_by_role("link", name=title)).to_be_visible()
    expect(bob.locator(".board-activity")).to_contain_text(f"{ann_name} moved “{title}” to In progress")
    expect(bob.locator(".board-activity")).to_contain_text(f"{ann_name} created “{title}”")

    # The assignee's inbox: Ann assigned it to him; Ann's inbox has nothing of her own doing.
    assert bob.goto("/notifications").status == 200
    reload_until(bob, lambda: bob.get_by_text(f"{ann_name} assigned “{title}” to you.").count() > 0)
    bob.screenshot(path=screenshots / "inbox-assigned-1280.png", full_page=True)
    assert ann.goto("/notifications").status == 200
    expect(ann.get_by_text("assigned", exact=False)).to_have_count(0)

    # The task page at 390 px: the facts name the assignee, Watch / Stop watching, history names who did what.
    assert phone.goto(f"/tasks/{task_id}").status == 200
    expect(phone.get_by_role("button", name="Watch")).to_be_visible()
    assert submit(phone, phone.get_by_role("button", name="Watch")).status == 200
    expect(phone.get_by_role("button", name="Stop watching")).to_be_visible()
    reload_until(phone, lambda: phone.locator(".history").get_by_text(f"by {ann_name}").count() >= 2)
    phone.screenshot(path=screenshots / "task-watching-390.png", full_page=True)
    layout = phone.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not layout, "the task page scrolls sideways at 390 px"
    assert errors == []
