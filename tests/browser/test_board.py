"""The board view in a real browser: two people on one board, a card moved with the keyboard, the other's
stale move answered with the conflict page, drag and drop, and the layout at 1280 and 390 px."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from .actions import DESKTOP, MOBILE, register, submit


def column(page: Page, status: str):
    return page.locator(f'section.board-column[data-status="{status}"]')


def card(page: Page, title: str):
    return page.locator("li.board-card").filter(has=page.get_by_role("link", name=title, exact=True))


def create_board(page: Page, name: str) -> str:
    assert page.goto("/boards").status == 200
    page.get_by_label("Board name").fill(name)
    resp = submit(page, page.get_by_role("button", name="Create board"))
    assert resp.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def invite(page: Page, board_id: str, username: str, role: str) -> None:
    assert page.goto(f"/boards/{board_id}/members").status == 200
    page.get_by_label("Username").fill(username)
    page.get_by_label("Role", exact=True).select_option(role)
    assert submit(page, page.get_by_role("button", name="Invite")).status == 200
    expect(page.locator(".flash-success")).to_contain_text(f"{username} is now {role}")


def create_board_task(page: Page, board_id: str, title: str, **fields) -> None:
    assert page.goto(f"/boards/{board_id}").status == 200
    assert submit(page, page.locator("#main").get_by_role("link", name="New task")).status == 200
    page.get_by_label("Title").fill(title)
    page.get_by_label("Priority").select_option(fields.get("priority", "medium"))
    page.get_by_label("Tags").fill(fields.get("tags", ""))
    page.get_by_label("Due").fill(fields.get("due", ""))
    assert submit(page, page.get_by_role("button", name="Create task")).status == 200


def test_two_people_move_cards_on_one_board(new_context, screenshots):
    run = uuid.uuid4().hex[:6]
    errors: list[str] = []
    ann = new_context(viewport=DESKTOP).new_page()
    bob = new_context(viewport=DESKTOP).new_page()
    for page in (ann, bob):
        page.on("console", lambda m: m.type == "error" and "409" not in m.text and errors.append(m.text))  # CSP
    register(ann)
    bob_name = register(bob)
    board_id = create_board(ann, f"Launch {run}")
    invite(ann, board_id, bob_name, "editor")
    ann.screenshot(path=screenshots / "board-members-1280.png", full_page=True)
    title = f"Write the press release {run}"
    create_board_task(ann, board_id, title, priority="high", tags="launch, copy", due="2030-05-17T14:30")
    create_board_task(ann, board_id, f"Book the venue {run}", priority="low")

    assert ann.goto(f"/boards/{board_id}").status == 200
    the_card = card(ann, title)
    expect(column(ann, "pending").locator("li.board-card")).to_have_count(2)
    expect(the_card.locator(".priority-high")).to_have_text("High")
    expect(the_card).to_contain_text("Due Fri 17 May 2030, 14:30")
    expect(the_card).to_contain_text("#launch")
    ann.screenshot(path=screenshots / "board-1280.png", full_page=True)

    assert bob.goto(f"/boards/{board_id}").status == 200  # Bob's page now holds the card's version 1
    expect(card(bob, title)).to_be_visible()

    # Ann moves the card with the keyboard: focus its move button, press Enter.
    ann.get_by_role("button", name=f"Move “{title}” to In progress").focus()
    with ann.expect_navigation():
        ann.keyboard.press("Enter")
    expect(ann.locator(".flash-success")).to_have_text(f"Moved “{title}” to In progress.")
    expect(column(ann, "in_progress").get_by_role("link", name=title)).to_be_visible()

    # Bob, from his stale page, moves it to Completed: the conflict page, nothing overwritten.
    resp = submit(bob, card(bob, title).get_by_role("button", name=f"Move “{title}” to Completed"))
    assert resp.status == 409
    expect(bob.get_by_role("heading", level=1)).to_have_text("This task was changed while you were working on it")
    expect(bob.locator(".facts")).to_contain_text("In progress")
    bob.screenshot(path=screenshots / "board-stale-move-conflict.png", full_page=True)
    assert submit(bob, bob.get_by_role("button", name="Move it now")).status == 200
    expect(column(bob, "completed").get_by_role("link", name=title)).to_be_visible()

    # Drag and drop (the enhancement) submits the same form.
    venue = f"Book the venue {run}"
    with bob.expect_navigation():
        card(bob, venue).drag_to(column(bob, "in_progress"))
    expect(column(bob, "in_progress").get_by_role("link", name=venue)).to_be_visible()
    bob.screenshot(path=screenshots / "board-after-moves-1280.png", full_page=True)
    assert errors == []


def test_the_board_at_390_px_stacks_its_columns_without_sideways_scrolling(new_context, screenshots):
    page = new_context(viewport=MOBILE).new_page()
    register(page)
    board_id = create_board(page, "Phone board")
    for n, priority in enumerate(("high", "medium", "low")):
        create_board_task(page, board_id, f"A fairly long card title number {n} that has to wrap", priority=priority,
                          tags="mobile, layout", due="2030-01-0{}T09:00".format(n + 1))
    assert page.goto(f"/boards/{board_id}").status == 200
    page.screenshot(path=screenshots / "board-390.png", full_page=True)
    layout = page.evaluate("""() => ({
        scrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
        lefts: Array.from(document.querySelectorAll('.board-column')).map(c => Math.round(c.getBoundingClientRect().left)),
        widest: Math.max(...Array.from(document.querySelectorAll('.board-card')).map(c => c.getBoundingClientRect().right)),
        viewport: document.documentElement.clientWidth})""")
    assert not layout["scrolls"], "the board scrolls sideways at 390 px"
    assert len(set(layout["lefts"])) == 1, "columns should stack at 390 px"
    assert layout["widest"] <= layout["viewport"]
    # Every move button can be reached with Tab and is big enough to tap.
    button = page.get_by_role("button", name="Move “A fairly long card title number 0 that has to wrap” to In progress")
    box = button.bounding_box()
    assert box["height"] >= 24 and box["width"] >= 44
