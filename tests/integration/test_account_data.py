"""Deleting an account and exporting its data, on the real stack."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from tests.conftest import Browser, cleared, eventually
from tests.integration.boards import board_task, create_board, invite, user_id_of
from tests.integration.test_api import make_token
from tests.integration.two_factor_steps import PASSWORD, enable_two_factor


def _delete_form(user: Browser) -> dict:
    """The choices as the page offers them (its defaults), plus the confirmation."""
    page = user.get("/account/delete").get_data(as_text=True)
    choices = dict(re.findall(r'<select[^>]*name="(board_[^"]+)"[^>]*>\s*<option[^>]*value="([^"]+)"', page))
    return {**choices, "password": PASSWORD, "confirm": "DELETE"}


def test_the_page_shows_first_what_happens_to_each_owned_board(app, user, other_user):
    lonely = create_board(user, "Just me")
    shared = create_board(user, "With a friend")
    assert invite(user, shared, other_user, "editor").status_code == 302
    page = user.get("/account/delete").get_data(as_text=True)
    assert "“Just me”" in page and "“With a friend”" in page
    assert f"Transfer to {other_user.username}" in page and "Delete it with its tasks" in page
    only_choice = re.search(rf'name="board_{lonely}"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert "Transfer" not in only_choice  # no one to give it to


def test_a_wrong_password_or_a_missing_confirmation_deletes_nothing(app, user):
    user.create_task(title="Still here")
    for change, message in (({"password": "wrong"}, "Wrong password. Nothing was deleted."),
                            ({"confirm": "delete it"}, "Type DELETE, in capitals, to confirm.")):
        resp = user.form_post("/account/delete", {**_delete_form(user), **change})
        assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert "Still here" in user.get("/tasks").get_data(as_text=True)


def test_deleting_hands_boards_over_or_deletes_them_and_leaves_my_tasks_on_others_boards(app, user, gateway, stack):
    friend, host = Browser(app.test_client()), Browser(app.test_client())
    friend.register()
    host.register()
    kept = create_board(user, "Handed over")
    gone = create_board(user, "Deleted with me")
    elsewhere = create_board(host, "Host's board")
    assert invite(user, kept, friend, "viewer").status_code == 302
    assert invite(user, gone, friend, "editor").status_code == 302
    assert invite(host, elsewhere, user, "editor").status_code == 302
    kept_task = board_task(user, kept, title="Stays with the board")
    gone_task = board_task(friend, gone, title="Goes with the board")
    my_task_there = board_task(user, elsewhere, title="Made by the leaver")
    personal = user.create_task(title="Personal, goes")
    token = make_token(user, "script")
    me = user_id_of(user)
    form = {**_delete_form(user), f"board_{kept}": user_id_of(friend), f"board_{gone}": "delete"}
    resp = user.form_post("/account/delete", form)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    # The handed-over board is the friend's now, with its task.
    members = friend.get(f"/boards/{kept}/members").get_data(as_text=True)
    assert "Owner" in members and user.username not in members
    assert friend.get(f"/tasks/{kept_task}").status_code == 200
    # The deleted board and its tasks are gone for everyone.
    assert friend.get(f"/boards/{gone}").status_code == 404
    assert friend.get(f"/tasks/{gone_task}").status_code == 404
    # My task on someone else's board stays, shown as from a deleted user.
    host.get("/boards")  # the invitation's flash message, which names the invitee
    detail = host.get(f"/tasks/{my_task_there}").get_data(as_text=True)
    assert "Made by the leaver" in detail and "by a deleted user" in detail and user.username not in detail
    # Nothing of the account is left to sign in with or call the API with.
    again = Browser(app.test_client()).form_post("/login", {"username": user.username, "password": PASSWORD})
    assert again.status_code == 422
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert gateway.get(f"user:{me}").value["deleted"] is True
    assert gateway.get(f"task:{personal}").value.get("deleted")  # a tombstone, purged by the sweep
    assert cleared(gateway, stack, f"inbox:{me}") and cleared(gateway, stack, f"boards-of:{me}")
    # The username is free again.
    Browser(app.test_client()).register(user.username)


def test_a_second_factor_and_its_records_go_with_the_account(app, user, gateway, stack):
    enable_two_factor(user)
    me = user_id_of(user)
    assert user.form_post("/account/delete", _delete_form(user)).status_code == 302
    assert cleared(gateway, stack, f"two-factor:{me}")
    assert gateway.get(f"two-factor:{me}").value.get("enabled") is False


def test_a_notification_that_read_the_inbox_before_the_account_went_cannot_write_it_back(app, user, gateway,
                                                                                        stack):
    """The inbox is read (with its ETag) by a notification about to add to it; the account is deleted; the
    notification's guarded write then fails and the inbox stays cleared, expiring. Before, the account's records
    were deleted, and on Redis an ETag-guarded write to a missing key succeeds: the deleted person's inbox came
    back for good."""
    from webapp.dapr_gateway import Conflict
    me = user_id_of(user)
    gateway.save(f"inbox:{me}", {"items": [{"id": "n1", "text": "Before"}]})
    read_first = gateway.get(f"inbox:{me}")
    assert user.form_post("/account/delete", _delete_form(user)).status_code == 302
    with pytest.raises(Conflict):
        gateway.save_versioned(read_first.key, {"items": [{"id": "n2", "text": "Late"}, *read_first.value["items"]]},
                               read_first.etag)
    assert cleared(gateway, stack, f"inbox:{me}")


def test_deleting_is_only_my_own_account(app, user, other_user):
    resp = user.form_post("/account/delete", _delete_form(user))
    assert resp.status_code == 302
    assert other_user.get("/tasks").status_code == 200  # the other account is untouched


def test_the_export_is_a_zip_of_my_data_only(app, user, other_user):
    board = create_board(user, "Exported board")
    assert invite(user, board, other_user, "editor").status_code == 302
    mine = user.create_task(title="Mine to export")
    on_board = board_task(other_user, board, title="On my board")
    theirs = other_user.create_task(title="Not mine")
    assert user.action(mine, "complete").status_code == 302
    resp = user.get("/account/export")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert resp.headers["Content-Disposition"].startswith(f'attachment; filename="taskboard-{user.username}-')
    assert resp.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    files = {name: json.loads(archive.read(name)) for name in archive.namelist()}
    assert set(files) == {"manifest.json", "account.json", "tasks.json", "boards.json", "notifications.json",
                          "comments.json"}
    manifest = files["manifest.json"]
    assert manifest["format"] == "taskboard-export" and manifest["format_version"] == 1
    assert manifest["account"]["username"] == user.username and "password_hash" not in json.dumps(files)
    titles = {t["id"]: t["title"] for t in files["tasks.json"]["tasks"]}
    assert titles.get(mine) == "Mine to export" and titles.get(on_board) == "On my board" and theirs not in titles
    boards = files["boards.json"]["boards"]
    assert [b["name"] for b in boards] == ["Exported board"] and on_board in boards[0]["task_ids"]
    assert {m["username"] for m in boards[0]["members"]} == {user.username, other_user.username}
    notes = eventually(lambda: json.loads(zipfile.ZipFile(io.BytesIO(user.get("/account/export").data))
                                          .read("notifications.json"))["notifications"], timeout=30)
    assert any(n.get("task_id") == mine for n in notes)  # the completion's notification
    theirs_export = zipfile.ZipFile(io.BytesIO(other_user.get("/account/export").data))
    assert "Mine to export" not in theirs_export.read("tasks.json").decode()


def test_the_account_pages_need_a_signed_in_user(anonymous):
    for url in ("/account/delete", "/account/export", "/account/two-factor"):
        resp = anonymous.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_a_deletion_that_stopped_half_way_is_finished_by_repeating_it(app, user, other_user, monkeypatch):
    from webapp.accounts import deletion
    from webapp.dapr_gateway import Unavailable
    board = create_board(user, "Half-way")
    assert invite(user, board, other_user, "viewer").status_code == 302
    make_token(user, "script")

    def store_down(*args, **kwargs):
        raise Unavailable("store down")
    monkeypatch.setattr(deletion.tokens, "revoke", store_down)  # after the boards were handled
    form = {**_delete_form(user), f"board_{board}": user_id_of(other_user)}
    assert user.form_post("/account/delete", form).status_code == 503
    assert user.get("/tasks").status_code == 200  # still signed in, the account still there
    monkeypatch.undo()
    page = user.get("/account/delete").get_data(as_text=True)
    assert "Half-way" not in page  # handed over already: nothing left to choose
    assert user.form_post("/account/delete", _delete_form(user)).status_code == 302
    assert Browser(app.test_client()).form_post(
        "/login", {"username": user.username, "password": PASSWORD}).status_code == 422
