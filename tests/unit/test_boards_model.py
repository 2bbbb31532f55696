"""Boards as values: roles, membership changes and their refusals, the board view's columns."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from webapp.boards import model
from webapp.boards.model import MembershipError
from webapp.boards.store import role_in
from webapp.tasks.rows import Summary
from webapp.tasks.model import TaskFields, new_task

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def board_with(*members: tuple[str, str]) -> dict:
    board = model.new_board("Team", "u1", "ann", NOW)
    for user_id, role in members:
        board = model.with_member(board, user_id, f"name-{user_id}", role)
    return board


@pytest.mark.parametrize("role,need,allowed", [
    ("owner", "manage", True), ("editor", "manage", False), ("viewer", "manage", False),
    ("owner", "edit", True), ("editor", "edit", True), ("viewer", "edit", False),
    ("viewer", "view", True), (None, "view", False), ("stranger", "view", False),
])
def test_what_each_role_allows(role, need, allowed):
    assert model.allows(role, need) is allowed


def test_a_new_board_has_its_creator_as_owner_and_an_id_no_user_can_have():
    board = model.new_board("  Launch  ", "u1", "ann", NOW)
    assert board["name"] == "Launch" and model.role_of(board, "u1") == "owner"
    assert not model.is_personal(board["id"]) and model.is_personal("0123abcd" * 4)
    assert board["id"].startswith("b_") and set(board["id"][2:]) <= set("0123456789abcdef")  # "_": never hex


@pytest.mark.parametrize("name", ["", "   ", "x" * (model.NAME_MAX + 1)])
def test_a_board_needs_a_short_name(name):
    with pytest.raises(MembershipError):
        model.new_board(name, "u1", "ann", NOW)


def test_members_are_added_once_and_every_change_is_a_new_revision():
    board = board_with(("u2", "editor"))
    assert model.role_of(board, "u2") == "editor" and board["revision"] == 2
    with pytest.raises(MembershipError, match="already a member"):
        model.with_member(board, "u2", "bob", "viewer")
    with pytest.raises(MembershipError, match="role"):
        model.with_member(board, "u3", "cy", "admin")


def test_a_board_has_at_most_max_members():
    board = model.new_board("Big", "u1", "ann", NOW)
    for n in range(model.MAX_MEMBERS - 1):
        board = model.with_member(board, f"m{n}", f"m{n}", "viewer")
    with pytest.raises(MembershipError, match="at most"):
        model.with_member(board, "one-more", "x", "viewer")


def test_the_last_owner_can_neither_leave_nor_step_down_but_one_of_two_can():
    board = board_with(("u2", "editor"))
    with pytest.raises(MembershipError, match="last owner"):
        model.without_member(board, "u1")
    with pytest.raises(MembershipError, match="needs an owner"):
        model.with_role(board, "u1", "viewer")
    board = model.with_role(board, "u2", "owner")
    board = model.without_member(board, "u1")
    assert model.owners(board) == ["u2"] and model.role_of(board, "u1") is None


def test_a_personal_board_is_not_shared():
    personal = model.personal_board("u1", "ann", NOW)
    for change in (lambda b: model.with_member(b, "u2", "bob", "editor"), lambda b: model.without_member(b, "u1"),
                   lambda b: model.with_role(b, "u1", "viewer")):
        with pytest.raises(MembershipError, match="personal"):
            change(personal)


def test_a_role_comes_from_the_users_boards_record_and_their_personal_board_is_theirs():
    record = {"boards": {"b_1": {"role": "viewer", "name": "Team"}}}
    assert role_in(record, "u1", "b_1") == "viewer"
    assert role_in(record, "u1", "b_2") is None
    assert role_in(None, "u1", "u1") == "owner"
    assert role_in(record, "u1", "u2") is None  # someone else's personal board


def test_columns_group_cards_by_status_in_priority_then_due_order():
    def card(title, status, priority, due=None):
        task = new_task("u1", TaskFields(title, status=status, priority=priority, due_at=due), NOW)
        return Summary.of(task)
    later = datetime(2027, 1, 2, tzinfo=timezone.utc)
    sooner = datetime(2027, 1, 1, tzinfo=timezone.utc)
    cards = [card("low", "pending", "low"), card("high later", "pending", "high", later),
             card("high sooner", "pending", "high", sooner), card("high undated", "pending", "high"),
             card("doing", "in_progress", "medium"), card("done", "completed", "medium")]
    columns = model.columns(cards, limit=3)
    assert [c.status for c in columns] == ["pending", "in_progress", "completed"]
    assert [c.title for c in columns[0].cards] == ["high sooner", "high later", "high undated"]
    assert columns[0].total == 4 and [c.title for c in columns[1].cards] == ["doing"]


def test_a_task_is_on_its_creators_personal_board_unless_told_otherwise():
    task = new_task("u1", TaskFields("t"), NOW)
    assert task.board_id == "u1"
    assert new_task("u1", TaskFields("t"), NOW, board_id="b_x").board_id == "b_x"
    assert type(task).from_dict(task.to_dict()).board_id == "u1"


def test_access_is_the_lower_of_the_users_record_and_the_board_record():
    from webapp.boards.access import effective_role
    from webapp.dapr_gateway import Item

    board = board_with(("u2", "editor"))
    record = Item("board:b", board, "3")

    def listed(role):
        return Item("boards-of:u2", {"boards": {board["id"]: {"role": role, "name": "Team"}}}, "1")

    assert effective_role(listed("owner"), record, "u2", board["id"]) == "editor"  # a raise not on the board
    assert effective_role(listed("viewer"), record, "u2", board["id"]) == "viewer"  # a lowering under way
    assert effective_role(listed("editor"), Item("board:b", model.without_member(board, "u2"), "4"), "u2",
                          board["id"]) is None  # removed from the board: its record decides
    assert effective_role(Item("boards-of:u2", None, None), record, "u2", board["id"]) is None  # half invited
    assert effective_role(listed("editor"), Item("board:b", None, None), "u2", board["id"]) is None


def test_a_board_being_deleted_or_deleted_has_no_members():
    from webapp.boards.access import effective_role
    from webapp.dapr_gateway import Item

    board = board_with(("u2", "editor"))
    listed = Item("boards-of:u1", {"boards": {board["id"]: {"role": "owner", "name": "Team"}}}, "1")
    closing = model.closing(board)
    assert not model.is_open(closing) and model.is_open(model.reopened(closing))
    assert model.reopened(closing)["revision"] == board["revision"] + 2
    assert effective_role(listed, Item("board:b", closing, "2"), "u1", board["id"]) is None
    assert effective_role(listed, Item("board:b", closing, "2"), "u1", board["id"], closing=True) == "owner"
    gone = model.deleted(closing)
    assert not model.is_open(gone) and set(gone["members"]) == {"u1", "u2"}
    assert effective_role(listed, Item("board:b", gone, "3"), "u1", board["id"], closing=True) is None
    assert model.lower("owner", "viewer", "editor") == "viewer" and model.lower("owner", None) is None
