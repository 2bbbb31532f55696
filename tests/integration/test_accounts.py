"""Accounts on the real sidecar: register, log in, throttling, unique names."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import Browser, csrf_token, unique_name


def test_register_signs_in_and_rotates_the_session(app):
    browser = Browser(app.test_client())
    page = browser.get("/register")
    before = page.headers.get("Set-Cookie", "")
    browser.register()
    home = browser.get("/tasks")
    assert home.status_code == 200 and browser.username in home.get_data(as_text=True)
    assert before != browser.client.get_cookie("session").value


def test_duplicate_username_is_an_inline_error(app, user):
    other = Browser(app.test_client())
    resp = other.form_post("/register", {"username": user.username.upper(), "password": "password123",
                                         "confirm": "password123", "timezone": "UTC"})
    assert resp.status_code == 422
    assert "This username is taken" in resp.get_data(as_text=True)


def test_invalid_registration_keeps_input_and_shows_errors(anonymous):
    resp = anonymous.form_post("/register", {"username": "a b", "password": "short", "confirm": "other",
                                             "timezone": "UTC"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'value="a b"' in html and "At least" in html and "The passwords differ." in html


def test_concurrent_registrations_of_one_name_let_exactly_one_win(app):
    name = unique_name("race")
    results = []

    def attempt():
        browser = Browser(app.test_client())
        token = csrf_token(browser.get("/register").get_data(as_text=True))
        resp = browser.client.post("/register", data={"csrf_token": token, "username": name,
                                                      "password": "password123", "confirm": "password123",
                                                      "timezone": "UTC"})
        results.append(resp.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [302] + [422] * 5


def test_login_logout_and_wrong_password(app, user):
    browser = Browser(app.test_client())
    bad = browser.form_post("/login", {"username": user.username, "password": "nope"})
    assert bad.status_code == 422 and "Wrong username or password." in bad.get_data(as_text=True)
    good = browser.form_post("/login", {"username": user.username, "password": "correct horse battery"})
    assert good.status_code == 302 and good.headers["Location"].endswith("/tasks")
    out = browser.form_post("/logout", {}, page_url="/tasks")
    assert out.status_code == 302
    assert browser.get("/tasks").status_code == 302  # signed out: back to login


def test_login_is_throttled_per_account_and_address_but_not_for_other_addresses(app, user):
    # Failures from different sessions of one address count together: the counter lives in Dapr state.
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        Browser(app.test_client()).form_post("/login", {"username": user.username, "password": "wrong"})
    resp = Browser(app.test_client()).form_post("/login", {"username": user.username,
                                                           "password": "correct horse battery"})
    assert resp.status_code == 429 and "Too many failed attempts" in resp.get_data(as_text=True)
    # Whoever guessed from there cannot lock the owner out: another address still signs in.
    elsewhere = Browser(app.test_client())
    elsewhere.client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    resp = elsewhere.form_post("/login", {"username": user.username, "password": "correct horse battery"})
    assert resp.status_code == 302


def test_a_login_attempt_that_cannot_be_counted_is_refused(app, user, gateway, monkeypatch):
    from webapp.dapr_gateway import Conflict

    def contended(key, *args, **kwargs):
        raise Conflict(key)  # every write of the counter loses a race, as under a guessing burst
    monkeypatch.setattr(gateway, "save", contended)
    monkeypatch.setattr(gateway, "create", contended)
    resp = Browser(app.test_client()).form_post("/login", {"username": user.username,
                                                           "password": "correct horse battery"})
    assert resp.status_code == 429


def test_pages_need_a_signed_in_user(anonymous):
    for url in ("/tasks", "/tasks/new", "/notifications", "/settings", "/tasks/abc"):
        resp = anonymous.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_open_redirect_after_login_is_refused(app, user):
    browser = Browser(app.test_client())
    resp = browser.form_post("/login?next=//evil.example/", {"username": user.username,
                                                              "password": "correct horse battery"},
                             page_url="/login")
    assert resp.headers["Location"].endswith("/tasks")


def test_timezone_setting_changes_displayed_times(user):
    task_id = user.create_task(title="Zoned", due_at="2026-06-01T09:00")
    assert "09:00" in user.get(f"/tasks/{task_id}").get_data(as_text=True)
    resp = user.form_post("/settings", {"timezone": "Asia/Tokyo"})
    assert resp.status_code == 302
    assert "18:00" in user.get(f"/tasks/{task_id}").get_data(as_text=True)


@pytest.mark.parametrize("failure", ["store down", "index kept changing"])
def test_registration_is_all_or_nothing_when_the_users_index_write_fails(app, gateway, monkeypatch, failure):
    from webapp import users_index
    from webapp.dapr_gateway import Conflict, Unavailable
    real_save, real_create = gateway.save, gateway.create

    def failing(real):
        def write(key, *args, **kwargs):
            if key.startswith("users-index:"):  # the user's shard, created or changed
                raise (Unavailable if failure == "store down" else Conflict)(f"users index: {failure}")
            return real(key, *args, **kwargs)
        return write
    monkeypatch.setattr(gateway, "save", failing(real_save))
    monkeypatch.setattr(gateway, "create", failing(real_create))
    name = unique_name("half")
    browser = Browser(app.test_client())
    resp = browser.form_post("/register", {"username": name, "password": "password123", "confirm": "password123",
                                           "timezone": "UTC"})
    assert resp.status_code == 503
    assert not gateway.get(f"username:{name}").exists  # no account: the name is free
    monkeypatch.undo()
    browser.register(name)  # the same name, once the store is back
    with browser.client.session_transaction() as session:
        user_id = session["profile"]["id"]
    with app.app_context():
        assert user_id in users_index.all_user_ids()  # background work sees the new user


def test_an_id_left_in_the_users_index_by_a_failed_registration_is_harmless(app, gateway, monkeypatch):
    from webapp import users_index
    from webapp.background import sweep
    from webapp.dapr_gateway import Unavailable
    with app.app_context():
        before = set(users_index.all_user_ids())

    def failing(operations):
        raise Unavailable("account write: store down")
    monkeypatch.setattr(gateway, "transact", failing)
    name = unique_name("half")
    resp = Browser(app.test_client()).form_post("/register", {"username": name, "password": "password123",
                                                              "confirm": "password123", "timezone": "UTC"})
    assert resp.status_code == 503 and not gateway.get(f"username:{name}").exists
    monkeypatch.undo()
    with app.app_context():
        dangling = set(users_index.all_user_ids()) - before
        assert len(dangling) == 1
        counts = sweep.sweep_batch([dangling.pop()])  # no account, no tasks: nothing to do
        assert counts == {"users": 1, "relayed": 0, "purged": 0, "digests": 0}
