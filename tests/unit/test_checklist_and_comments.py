"""Checklist changes merge item by item; comments resolve mentions of board members and page newest first. Pure."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from webapp.comments import model as comments
from webapp.tasks import checklist
from webapp.tasks.checklist import ChecklistItem, ItemChanged

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
ITEMS = (ChecklistItem("a", "Write"), ChecklistItem("b", "Book", True), ChecklistItem("c", "Send"))


def test_a_change_applies_to_the_checklist_as_it_is_now():
    # Someone else ticked "a" meanwhile: ticking "c" as it was seen still applies, on top of theirs.
    now = checklist.changed(ITEMS, "a", "tick", ITEMS[0].seen)
    mine = checklist.changed(now, "c", "tick", ITEMS[2].seen)
    assert [i.done for i in mine] == [True, True, True]
    assert [i.text for i in checklist.changed(ITEMS, "c", "up", ITEMS[2].seen)] == ["Write", "Send", "Book"]
    assert [i.text for i in checklist.changed(ITEMS, "a", "down", ITEMS[0].seen)] == ["Book", "Write", "Send"]
    assert [i.id for i in checklist.changed(ITEMS, "b", "remove", ITEMS[1].seen)] == ["a", "c"]
    assert checklist.changed(ITEMS, "a", "rename", ITEMS[0].seen, " Write it ")[0].text == "Write it"


def test_a_change_to_an_item_someone_else_changed_or_removed_is_a_conflict():
    now = checklist.changed(ITEMS, "a", "rename", ITEMS[0].seen, "Write more")
    with pytest.raises(ItemChanged) as err:
        checklist.changed(now, "a", "tick", ITEMS[0].seen)
    assert err.value.current.text == "Write more"
    with pytest.raises(ItemChanged) as err:
        checklist.changed(ITEMS[1:], "a", "tick", ITEMS[0].seen)
    assert err.value.current is None


def test_limits_and_progress():
    full = tuple(ChecklistItem(str(n), f"step {n}") for n in range(checklist.ITEMS_MAX))
    with pytest.raises(checklist.ChecklistFull):
        checklist.added(full, "one more")
    with pytest.raises(ValueError):
        checklist.added(ITEMS, "  ")
    with pytest.raises(ValueError):
        checklist.added(ITEMS, "x" * (checklist.ITEM_TEXT_MAX + 1))
    assert checklist.progress(ITEMS) == [1, 3] and checklist.progress(()) is None
    assert checklist.progress_text(ITEMS) == "1/3" == checklist.progress_text([1, 3])
    assert [i.done for i in checklist.reset(ITEMS)] == [False] * 3
    assert [i.id for i in checklist.cleaned((ChecklistItem("x", " a "), ChecklistItem("x", "b"),
                                            ChecklistItem("y", "  ")))][0] == "x"


def test_a_comment_mentions_members_only_and_pages_newest_first():
    members = {"u1": {"username": "Ann"}, "u2": {"username": "bob.k"}}
    comment = comments.new_comment("t", "u1", "Ann", "Thanks @ann and @bob.k, not @carl", members, NOW)
    assert comment.mentions == {"ann": "u1", "bob.k": "u2"}
    with pytest.raises(ValueError):
        comments.new_comment("t", "u1", "Ann", " ", members, NOW)
    with pytest.raises(ValueError):
        comments.new_comment("t", "u1", "Ann", "x" * (comments.TEXT_MAX + 1), members, NOW)
    changed = comments.edited(comment, "only @bob.k", members, NOW)
    assert changed.revision == 2 and changed.edited_at == NOW and changed.mentions == {"bob.k": "u2"}
    assert comments.Comment.from_dict(changed.to_dict()) == changed
    page = comments.page_of([str(n) for n in range(45)], 3)
    assert page.ids == ("40", "41", "42", "43", "44") and page.pages == 3 and page.total == 45
    assert comments.page_of([], 5).number == 1
