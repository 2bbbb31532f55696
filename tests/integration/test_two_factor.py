"""Two-factor sign-in on the real sidecar: codes are computed in the test from the secret the page shows."""

from __future__ import annotations

import threading
import time

import pyotp

from tests.conftest import Browser, csrf_token
from tests.integration.test_api import make_token
from tests.integration.two_factor_steps import (PASSWORD, enable_two_factor, fresh_code, password_step,
                                                recovery_codes_on_page, secret_on_page)


def _user_id(browser: Browser) -> str:
    with browser.client.session_transaction() as session:
        return session["profile"]["id"]


def _signed_in(browser: Browser) -> bool:
    return browser.get("/tasks").status_code == 200


def test_setup_shows_a_qr_code_and_the_key_and_the_recovery_codes_once(user, gateway, caplog):
    off = user.get("/account/two-factor").get_data(as_text=True)
    assert "Status: off" in off and "<svg" not in off
    user.form_post("/account/two-factor", {"action": "start"})
    page = user.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and secret_on_page(page)  # the QR code, rendered on the server, and the key as text
    secret, codes = enable_two_factor_from_page(user, page)
    assert len(codes) == 10 and len(set(codes)) == 10
    again = user.get("/account/two-factor").get_data(as_text=True)
    assert "Status: <span class=\"status-on\">on</span>" in again and recovery_codes_on_page(again) == []
    stored = gateway.get(f"two-factor:{_user_id(user)}").value
    assert stored["enabled"] and len(stored["recovery"]) == 10
    events = [(r.security_event, r.user_id, r.client_address) for r in caplog.records
              if r.name == "taskboard.security" and hasattr(r, "security_event")]
    assert ("two-factor-enabled", _user_id(user), "127.0.0.1") in events  # the operators' line
    assert "Two-factor sign-in turned on" in user.get("/settings").get_data(as_text=True)  # the user's own log
    assert not any(code in str(stored) or code.replace("-", "") in str(stored) for code in codes)  # hashed


def enable_two_factor_from_page(user: Browser, page: str) -> tuple[str, list[str]]:
    secret = secret_on_page(page)
    resp = user.form_post("/account/two-factor", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302
    return secret, recovery_codes_on_page(user.get("/account/two-factor").get_data(as_text=True))


def test_a_wrong_code_at_setup_is_a_clear_error_and_changes_nothing(user, gateway):
    user.form_post("/account/two-factor", {"action": "start"})
    secret = secret_on_page(user.get("/account/two-factor").get_data(as_text=True))
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
    resp = user.form_post("/account/two-factor", {"action": "confirm", "code": wrong})
    assert resp.status_code == 422 and "That code does not match" in resp.get_data(as_text=True)
    assert not gateway.get(f"two-factor:{_user_id(user)}").exists
    assert Browser(user.client.application.test_client()).form_post(
        "/login", {"username": user.username, "password": PASSWORD}).headers["Location"].endswith("/tasks")


def test_sign_in_asks_for_a_code_after_the_password_and_signs_in_only_then(app, user):
    secret, _ = enable_two_factor(user)
    used = {pyotp.TOTP(secret).now()}
    browser = password_step(app, user.username)
    assert not _signed_in(browser)  # the password alone signs no one in
    step = browser.get("/login/two-factor")
    assert step.status_code == 200 and "Enter your code" in step.get_data(as_text=True)
    wrong = browser.form_post("/login/two-factor", {"code": "000000" if "000000" not in used else "111111"})
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    assert not _signed_in(browser)
    ok = browser.form_post("/login/two-factor", {"code": fresh_code(secret, used)})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/tasks")
    assert _signed_in(browser)


def test_a_code_works_once_even_when_two_sign_ins_send_it_at_the_same_moment(app, user):
    secret, _ = enable_two_factor(user)
    used = {pyotp.TOTP(secret).now()}
    code = fresh_code(secret, used)
    browsers = [password_step(app, user.username, f"198.51.100.{30 + n}") for n in range(4)]
    tokens = [csrf_token(b.get("/login/two-factor").get_data(as_text=True)) for b in browsers]
    results = []

    def send(browser, token):
        results.append(browser.client.post("/login/two-factor", data={"csrf_token": token, "code": code}).status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(browsers, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [302, 422, 422, 422]
    late = password_step(app, user.username, "198.51.100.40")
    assert late.form_post("/login/two-factor", {"code": code}).status_code == 422  # replayed later: refused too


def test_a_recovery_code_signs_in_once(app, user, gateway):
    _, codes = enable_two_factor(user)
    browser = password_step(app, user.username)
    resp = browser.form_post("/login/two-factor", {"code": codes[3].upper()})
    assert resp.status_code == 302
    landing = browser.get("/tasks")
    assert landing.status_code == 200 and "9 left" in landing.get_data(as_text=True)
    again = password_step(app, user.username, "198.51.100.21")
    assert again.form_post("/login/two-factor", {"code": codes[3]}).status_code == 422
    assert len(gateway.get(f"two-factor:{_user_id(user)}").value["recovery"]) == 9


def test_guessing_codes_is_throttled_like_the_password(app, user):
    secret, _ = enable_two_factor(user)
    used = {pyotp.TOTP(secret).now()}
    browser = password_step(app, user.username, "198.51.100.50")
    valid = {pyotp.TOTP(secret).at(time.time() + drift) for drift in (-30, 0, 30, 60)}
    guesses = [code for code in (f"{n:06d}" for n in range(20)) if code not in valid]
    for guess in guesses[:app.config["LOGIN_MAX_FAILURES"]]:
        assert browser.form_post("/login/two-factor", {"code": guess}).status_code == 422
    resp = browser.form_post("/login/two-factor", {"code": fresh_code(secret, used)})
    assert resp.status_code == 429 and "Too many attempts" in resp.get_data(as_text=True)
    assert not _signed_in(browser)


def test_the_second_step_lapses_and_cannot_be_reached_without_the_password(app, user, anonymous):
    resp = anonymous.get("/login/two-factor")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    secret, _ = enable_two_factor(user)
    browser = password_step(app, user.username, "198.51.100.60")
    with browser.client.session_transaction() as session:
        session["second_step"] = {**session["second_step"], "since": time.time() - 301}  # five minutes on
    late = browser.form_post("/login/two-factor", {"code": pyotp.TOTP(secret).at(time.time() + 30)},
                             page_url="/login")
    assert late.status_code == 302 and late.headers["Location"].endswith("/login") and not _signed_in(browser)


def test_turning_it_off_needs_the_password_and_a_code(app, user):
    secret, _ = enable_two_factor(user)
    used = {pyotp.TOTP(secret).now()}
    wrong_password = user.form_post("/account/two-factor", {"action": "disable", "password": "nope",
                                                            "code": fresh_code(secret, used)})
    assert wrong_password.status_code == 422 and "Wrong password." in wrong_password.get_data(as_text=True)
    no_code = user.form_post("/account/two-factor", {"action": "disable", "password": PASSWORD, "code": "12"})
    assert no_code.status_code == 422
    assert "status-on" in user.get("/account/two-factor").get_data(as_text=True)  # still on
    off = user.form_post("/account/two-factor", {"action": "disable", "password": PASSWORD,
                                                 "code": fresh_code(secret, used)})
    assert off.status_code == 302
    assert "Status: off" in user.get("/account/two-factor").get_data(as_text=True)
    again = Browser(app.test_client()).form_post("/login", {"username": user.username, "password": PASSWORD})
    assert again.headers["Location"].endswith("/tasks")  # the password alone again


def test_an_operator_command_removes_a_users_second_factor(app, user):
    enable_two_factor(user)
    result = app.test_cli_runner().invoke(args=["remove-two-factor", user.username])
    assert result.exit_code == 0 and "second factor removed" in result.output
    again = Browser(app.test_client()).form_post("/login", {"username": user.username, "password": PASSWORD})
    assert again.headers["Location"].endswith("/tasks")
    missing = app.test_cli_runner().invoke(args=["remove-two-factor", "no-such-user-here"])
    assert missing.exit_code != 0 and "no account named" in missing.output


def test_api_tokens_keep_working_with_a_second_factor(user):
    token = make_token(user, "script")
    enable_two_factor(user)
    resp = user.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200


def test_a_setup_that_expired_says_so_and_changes_nothing(user, gateway):
    user.form_post("/account/two-factor", {"action": "start"})
    secret = secret_on_page(user.get("/account/two-factor").get_data(as_text=True))
    gateway.delete(f"two-factor-setup:{_user_id(user)}")  # as its TTL does after 15 minutes
    resp = user.form_post("/account/two-factor", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302
    page = user.get("/account/two-factor").get_data(as_text=True)
    assert "That setup expired" in page and "Status: off" in page
    assert not gateway.get(f"two-factor:{_user_id(user)}").exists
