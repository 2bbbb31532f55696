"""Working together on one task, in a real browser: two people tick different checklist items from pages read at
the same version and both ticks stay; one mentions the other in a comment, who finds it in their inbox and follows
the link. Screenshots of the task page at 1280 and 390 px (nothing wider than the viewport)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from playwright.sync_api import expect

from .actions import DESKTOP, MOBILE, register, reload_until, submit
from .test_board import create_board, invite
from .test_board_live import sign_in

NOTES_SHOTS = Path("/work/notes/s25/shots/h-collab")


def test_two_people_tick_a_checklist_at_once_and_one_mentions_the_other(new_context, screenshots):
    run = uuid.uuid4().hex[:6]
    errors: list[str] = []
    ann = new_context(viewport=DESKTOP).new_page()
    bob = new_context(viewport=DESKTOP).new_page()
    for page in (ann, bob):
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    ann_name, bob_name = register(ann), register(bob)
    board_id = create_board(ann, f"Offsite {run}")
    invite(ann, board_id, bob_name, "editor")

    title = f"Plan the offsite {run}"
    assert ann.goto(f"/tasks/new?board={board_id}").status == 200
    ann.get_by_label("Title").fill(title)
    ann.get_by_label("Description").fill("**Agenda** first, then [the venue](https://example.org/venue).\n\n"
                                         "- budget\n- dates\n\n<script>alert(1)</script>")
    assert submit(ann, ann.get_by_role("button", name="Preview description")).status == 200
    expect(ann.get_by_role("region", name="Description preview").locator("strong")).to_have_text("Agenda")
    assert submit(ann, ann.get_by_role("button", name="Create task")).status == 200
    task_id = ann.url.rstrip("/").rsplit("/", 1)[-1]
    expect(ann.locator("article .markdown li")).to_have_count(2)
    expect(ann.locator("article .markdown a")).to_have_attribute("rel", "nofollow noopener")
    expect(ann.locator("article .markdown")).to_contain_text("<script>alert(1)</script>")  # shown, not run
    for item in ("Book the room", "Order lunch", "Print badges"):
        ann.get_by_label("New item").fill(item)
        assert submit(ann, ann.get_by_role("button", name="Add item")).status == 200
    expect(ann.locator(".checklist-item")).to_have_count(3)

    # Both open the task at the same version, then each ticks a different item at once.
    assert bob.goto(f"/tasks/{task_id}").status == 200
    assert ann.goto(f"/tasks/{task_id}").status == 200
    with ann.expect_navigation(), bob.expect_navigation():
        ann.get_by_role("button", name="Tick “Book the room”").click(no_wait_after=True)
        bob.get_by_role("button", name="Tick “Order lunch”").click(no_wait_after=True)
    for page in (ann, bob):
        assert page.goto(f"/tasks/{task_id}").status == 200
        expect(page.locator(".checklist-item.done")).to_have_count(2)
        expect(page.locator("#checklist-head")).to_contain_text("2/3")
    assert bob.goto(f"/boards/{board_id}").status == 200
    expect(bob.locator(".board-card", has_text=title)).to_contain_text("☑ 2/3")

    # Bob mentions Ann; she finds it in her inbox and the mention links to her on the members page.
    assert bob.goto(f"/tasks/{task_id}").status == 200
    bob.get_by_label("Add a comment").fill(f"Room booked. @{ann_name} can you *confirm* lunch? cc @nobody_{run}")
    previewed = submit(bob, bob.get_by_role("button", name="Preview", exact=True))
    assert previewed.status == 200, bob.locator("#comments").inner_text()
    expect(bob.get_by_role("region", name="Preview").locator("em")).to_have_text("confirm")
    assert submit(bob, bob.get_by_role("button", name="Comment", exact=True)).status == 200
    expect(bob.locator(".comment")).to_have_count(1)
    expect(bob.locator(".comment a.mention")).to_have_text(f"@{ann_name}")
    expect(bob.locator(".comment")).to_contain_text(f"@nobody_{run}")
    assert ann.goto("/notifications").status == 200
    reload_until(ann, lambda: ann.get_by_text(f"{bob_name} mentioned you on “{title}”.").count() > 0)
    assert ann.goto(f"/tasks/{task_id}").status == 200
    assert submit(ann, ann.locator(".comment a.mention")).status == 200
    assert f"/boards/{board_id}/members" in ann.url

    # The task page with its checklist and comments, at 1280 and 390 px: nothing wider than the screen.
    assert ann.goto(f"/tasks/{task_id}").status == 200
    reload_until(ann, lambda: ann.get_by_text(f"Commented").count() > 0)
    shots = [screenshots / "collab-task-1280.png", screenshots / "collab-task-390.png"]
    ann.screenshot(path=str(shots[0]), full_page=True)
    phone = new_context(viewport=MOBILE).new_page()
    sign_in(phone, bob_name)
    assert phone.goto(f"/tasks/{task_id}").status == 200
    assert phone.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    phone.screenshot(path=str(shots[1]), full_page=True)
    if NOTES_SHOTS.parent.exists():
        NOTES_SHOTS.mkdir(exist_ok=True)
        for shot in shots:
            shutil.copy(shot, NOTES_SHOTS / shot.name)
    assert errors == []


def test_the_new_pages_fit_1280_and_390_px(new_context, screenshots):
    """The edit form's preview, a comment's edit and conflict pages, a checklist conflict, and the list row and
    board card with their progress: each within the viewport at both widths."""
    run = uuid.uuid4().hex[:6]
    desk = new_context(viewport=DESKTOP).new_page()
    name = register(desk)
    title = f"Review the draft {run}"
    assert desk.goto("/tasks/new").status == 200
    desk.get_by_label("Title").fill(title)
    assert submit(desk, desk.get_by_role("button", name="Create task")).status == 200
    task_id = desk.url.rstrip("/").rsplit("/", 1)[-1]
    for item in ("Read it", "Mark it up"):
        desk.get_by_label("New item").fill(item)
        assert submit(desk, desk.get_by_role("button", name="Add item")).status == 200
    desk.get_by_label("Add a comment").fill("First pass done: see **section 2**.")
    assert submit(desk, desk.get_by_role("button", name="Comment", exact=True)).status == 200
    comment_id = desk.locator(".comment").first.get_attribute("id").removeprefix("comment-")

    phone = new_context(viewport=MOBILE).new_page()
    sign_in(phone, name)
    pages = {}
    for label, page in (("1280", desk), ("390", phone)):
        width = DESKTOP["width"] if label == "1280" else MOBILE["width"]

        def shot(what: str, expect_status: int = 200, page=page, label=label, width=width):
            assert page.evaluate("document.documentElement.scrollWidth") <= width, what
            path = screenshots / f"collab-{what}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            pages[path.name] = path

        assert page.goto(f"/tasks/{task_id}/edit").status == 200
        page.get_by_label("Description").fill("# Plan\n\n1. read\n2. **mark up**\n\n> quoted")
        assert submit(page, page.get_by_role("button", name="Preview description")).status == 200
        expect(page.get_by_role("region", name="Description preview").locator("ol li")).to_have_count(2)
        shot("edit-preview")
        assert page.goto(f"/tasks/{task_id}/comments/{comment_id}/edit").status == 200
        expect(page.get_by_label("Your comment")).not_to_have_value("")
        shot("comment-edit")
        # A save from the first version after another save: the conflict page.
        page.get_by_label("Your comment").fill(f"Second pass {label}")
        assert submit(page, page.get_by_role("button", name="Save", exact=True)).status == 200
        assert page.goto(f"/tasks/{task_id}/comments/{comment_id}/edit").status == 200
        page.evaluate("document.querySelector('input[name=version]').value = '1'")
        page.get_by_label("Your comment").fill("From an old version")
        assert submit(page, page.get_by_role("button", name="Save", exact=True)).status == 409
        expect(page.locator(".conflict")).to_contain_text(f"Second pass {label}")
        shot("comment-conflict")
        # A tick from a page that still shows an item someone renamed since: the checklist conflict page.
        assert page.goto(f"/tasks/{task_id}").status == 200
        page.evaluate("document.querySelector('.checklist-item input[name=seen]').value = '000000000000'")
        assert submit(page, page.locator(".checklist-item").first.get_by_role("button").first).status == 409
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "This checklist item was changed while you were working on it")
        shot("checklist-conflict")
        assert page.goto("/tasks").status == 200
        expect(page.locator(".task", has_text=title)).to_contain_text("Checklist: 0/2")
        shot("list")
    if NOTES_SHOTS.parent.exists():
        NOTES_SHOTS.mkdir(exist_ok=True)
        for name_, path in pages.items():
            shutil.copy(path, NOTES_SHOTS / name_)
