"""Builders for board tests: a shared board with one member of each role, through the real pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.conftest import Browser


def user_id_of(user: Browser) -> str:
    with user.client.session_transaction() as session:
        return session["profile"]["id"]


def create_board(user: Browser, name: str = "Team") -> str:
    """Create a board through the form; returns its id."""
    resp = user.form_post("/boards", {"name": name})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return resp.headers["Location"].rsplit("/", 1)[-1]


def board_version(user: Browser, board_id: str) -> str:
    html = user.get(f"/boards/{board_id}/members").get_data(as_text=True)
    return re.search(r'name="version" value="([^"]*)"', html).group(1)


def invite(owner: Browser, board_id: str, invitee: Browser, role: str):
    return owner.form_post(f"/boards/{board_id}/members",
                           {"username": invitee.username, "role": role, "version": board_version(owner, board_id)},
                           page_url=f"/boards/{board_id}/members")


def board_task(user: Browser, board_id: str, **fields) -> str:
    """Create a task on the board through the form; returns its id."""
    data = {"title": "A board task", "description": "", "status": "pending", "priority": "medium",
            "tags": "", "due_at": "", "remind_at": "", "recurrence": "none", **fields}
    resp = user.form_post(f"/tasks/new?board={board_id}", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return resp.headers["Location"].rsplit("/", 1)[-1]


@dataclass
class Team:
    """A shared board with an owner, an editor, a viewer, an outsider, and one task on it."""

    board_id: str
    task_id: str
    owner: Browser
    editor: Browser
    viewer: Browser
    outsider: Browser

    def as_role(self, role: str) -> Browser:
        return getattr(self, role)


def make_team(app, title: str = "Shared work") -> Team:
    people = {}
    for role in ("owner", "editor", "viewer", "outsider"):
        people[role] = Browser(app.test_client())
        people[role].register()
    board_id = create_board(people["owner"], "Team board")
    assert invite(people["owner"], board_id, people["editor"], "editor").status_code == 302
    assert invite(people["owner"], board_id, people["viewer"], "viewer").status_code == 302
    task_id = board_task(people["owner"], board_id, title=title)
    return Team(board_id, task_id, **people)
