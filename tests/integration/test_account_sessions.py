"""Changing the password, signing out everywhere (sessions and, on request, API tokens), the security log."""

from __future__ import annotations

from tests.conftest import Browser, csrf_token
from tests.integration.test_api import make_token

PASSWORD = "correct horse battery"


def username_of(user: Browser) -> str:
    with user.client.session_transaction() as session:
        return session["profile"]["username"]


def second_session(app, user: Browser) -> Browser:
    other = Browser(app.test_client())
    assert other.form_post("/login", {"username": username_of(user), "password": PASSWORD}).status_code == 302
    return other


def signed_out(browser: Browser, path: str = "/settings") -> bool:
    resp = browser.get(path)
    return resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_sign_out_everywhere_ends_every_other_session_and_on_request_every_token(app, user):
    other = second_session(app, user)
    token = make_token(user)
    api = Browser(app.test_client())
    assert api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    wrong = user.form_post("/account/sign-out-everywhere", {"current_password": "not it", "tokens": "y"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    assert not signed_out(other)

    done = user.form_post("/account/sign-out-everywhere", {"current_password": PASSWORD, "tokens": "y"})
    assert done.status_code == 302
    assert signed_out(other) and signed_out(other, "/tasks")  # the list page checks with its own read
    assert not signed_out(user)  # the session that asked stays
    assert api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    log = user.get("/settings").get_data(as_text=True)
    assert "Signed out everywhere" in log and "API token created" in log and "Signed in" in log


def test_sign_out_everywhere_keeps_tokens_unless_asked(app, user):
    other = second_session(app, user)
    token = make_token(user)
    assert user.form_post("/account/sign-out-everywhere", {"current_password": PASSWORD}).status_code == 302
    assert signed_out(other)
    assert Browser(app.test_client()).get("/api/v1/tasks",
                                          headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_session_signed_out_elsewhere_can_change_nothing(app, user):
    other = second_session(app, user)
    task_id = user.create_task(title="Keep me")
    version = user.version_of(task_id)
    token = csrf_token(other.get(f"/tasks/{task_id}").get_data(as_text=True))  # a form it had open
    assert user.form_post("/account/sign-out-everywhere", {"current_password": PASSWORD}).status_code == 302
    resp = other.client.post(f"/tasks/{task_id}/delete", data={"csrf_token": token, "version": version})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert user.get(f"/tasks/{task_id}").status_code == 200  # not deleted


def test_change_password_asks_the_current_one_and_ends_other_sessions(app, user):
    other = second_session(app, user)
    wrong = user.form_post("/account/password", {"current_password": "nope nope", "password": "new secret 1",
                                                 "confirm": "new secret 1"})
    assert wrong.status_code == 422 and not signed_out(other)
    mismatch = user.form_post("/account/password", {"current_password": PASSWORD, "password": "new secret 1",
                                                    "confirm": "other"})
    assert mismatch.status_code == 422 and "The passwords differ." in mismatch.get_data(as_text=True)
    done = user.form_post("/account/password", {"current_password": PASSWORD, "password": "new secret 1",
                                                "confirm": "new secret 1"})
    assert done.status_code == 302
    assert signed_out(other) and not signed_out(user)
    fresh = Browser(app.test_client())
    assert fresh.form_post("/login", {"username": username_of(user), "password": "new secret 1"}).status_code == 302
    assert "Password changed" in user.get("/settings").get_data(as_text=True)


def test_guessing_the_current_password_is_throttled_like_sign_in(app, user):
    codes = [user.form_post("/account/password", {"current_password": f"guess {n}", "password": "new secret 1",
                                                  "confirm": "new secret 1"}).status_code for n in range(6)]
    assert codes[:5] == [422] * 5 and codes[5] == 429


def test_reset_requests_are_throttled_per_name_and_client(app, anonymous):
    codes = [anonymous.form_post("/password-reset", {"identifier": "someone-throttled"}).status_code
             for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429


def test_failed_sign_ins_are_counted_on_the_account_without_pushing_its_events_out(app, user):
    stranger = Browser(app.test_client())
    for _ in range(3):
        assert stranger.form_post("/login", {"username": username_of(user), "password": "guess"}).status_code == 422
    page = " ".join(user.get("/settings").get_data(as_text=True).split())
    assert "3 failed sign-ins since" in page and "Signed in" in page  # the real events are all still there
    assert "failed sign-in" not in Browser(app.test_client()).get("/login").get_data(as_text=True)
