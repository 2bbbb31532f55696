"""Accounts on the real sidecar: register, log in, throttling, unique names."""

from __future__ import annotations

import threading

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


def test_login_is_throttled_per_account_across_clients(app, user):
    # Failures from different clients count together: the counter lives in Dapr state.
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        Browser(app.test_client()).form_post("/login", {"username": user.username, "password": "wrong"})
    resp = Browser(app.test_client()).form_post("/login", {"username": user.username,
                                                           "password": "correct horse battery"})
    assert resp.status_code == 429 and "Too many failed attempts" in resp.get_data(as_text=True)


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
