"""A world of long unbroken text for the layout and accessibility tests: a signed-in person (the longest
username the form takes) on a shared board with an 80-character name, a member whose username is 200
characters (made through the store: the form takes 32), tasks with 200-character titles, ten 32-character tags,
a 2,000-character unbroken description, a checklist of 200-character items at 3/5, a comment with a mention, a
notification, a calendar feed and an API token — and every page that shows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from playwright.sync_api import Page

from .actions import PASSWORD, submit


def unbroken(letter: str, length: int) -> str:
    run = uuid.uuid4().hex
    return (letter + run + letter * length)[:length]


@dataclass
class World:
    username: str
    board_id: str
    task_id: str
    personal_id: str
    pages: list[str] = field(default_factory=list)  # signed-in pages
    public: list[str] = field(default_factory=lambda: ["/login", "/register"])


def build(page: Page, app) -> World:
    """Seed the world through the real forms (and the store where a form would refuse) and sign ``page`` in."""
    from webapp.auth import users
    from webapp.boards import model as boards_model
    from webapp.boards import store as boards_store
    from webapp.notifications import deliver_to_inbox

    username = unbroken("u", 32)
    page.goto("/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    assert submit(page, page.get_by_role("button", name="Create account")).status == 200
    page.goto("/boards")
    page.get_by_label("Board name").fill(unbroken("B", 80))
    assert submit(page, page.get_by_role("button", name="Create board")).status == 200
    board_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    with app.app_context():
        long_name = unbroken("m", 200)
        member = users.register(long_name, PASSWORD, "UTC")
        boards_store.change_membership(board_id, member.id,
                                       lambda b: boards_model.with_member(b, member.id, long_name, "editor"))
    tags = ", ".join(unbroken("t", 32) for _ in range(10))
    due = (datetime.now(timezone.utc) + timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")

    def create(path: str, assignee: str | None = None) -> str:
        page.goto(path)
        page.get_by_label("Title").fill(unbroken("T", 200))
        page.get_by_label("Description").fill(unbroken("D", 2000))
        page.get_by_label("Tags").fill(tags)
        page.get_by_label("Due").fill(due)
        if assignee:
            page.get_by_label("Assigned to").select_option(assignee)
        assert submit(page, page.get_by_role("button", name="Create task")).status == 200
        return page.url.rstrip("/").rsplit("/", 1)[-1]

    task_id = create(f"/tasks/new?board={board_id}", assignee=member.id)
    # Its checklist at 3/5 and a comment that mentions the signed-in person, all of unbroken text.
    page.goto(f"/tasks/{task_id}")
    for n in range(5):
        page.get_by_label("New item").fill(unbroken("c", 200))
        assert submit(page, page.get_by_role("button", name="Add item")).status == 200
    for n in range(3):
        assert submit(page, page.locator(".checklist-item").nth(n).get_by_role("button").first).status == 200
    page.get_by_label("Add a comment").fill(f"{unbroken('C', 300)} **done** @{username}\n\n- {unbroken('L', 120)}")
    assert submit(page, page.get_by_role("button", name="Comment", exact=True)).status == 200
    comment_id = page.locator(".comment").first.get_attribute("id").removeprefix("comment-")
    create(f"/tasks/new?board={board_id}")  # mine, unassigned: on /my with the board's long name
    personal_id = create("/tasks/new")
    page.goto("/settings")
    page.get_by_label("Tasks of").select_option(board_id)
    assert submit(page, page.get_by_role("button", name="Create feed address")).status == 200
    page.get_by_label("Token name").fill(unbroken("k", 60))
    assert submit(page, page.get_by_role("button", name="Create token")).status == 200
    gateway = app.extensions["dapr"]
    user_id = gateway.get(f"username:{username.lower()}").value["user_id"]
    with app.app_context():
        deliver_to_inbox({"notification_id": f"long-{uuid.uuid4().hex}", "user_id": user_id,
                          "message": f"Reminder: “{unbroken('N', 200)}” is due.",
                          "timestamp": "2026-01-01T12:00:00+00:00"})
    return World(username, board_id, task_id, personal_id, pages=[
        "/my", "/tasks", f"/tasks?board={board_id}", f"/tasks/{task_id}", f"/tasks/{task_id}/edit", "/tasks/new",
        f"/tasks/{task_id}/comments/{comment_id}/edit", "/account/email",
        f"/tasks/{personal_id}", "/boards", f"/boards/{board_id}", f"/boards/{board_id}/members",
        "/notifications", "/settings", "/tasks/" + "0" * 32])

