"""E-mail for real: verification, password reset and a notification, read from the stack's Mailpit."""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest

from tests.conftest import Browser, eventually, unique_name
from tests.integration.boards import user_id_of
from tests.integration.mailbox import Mailbox, address, links_in, path_of
from webapp.accounts import links

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def mailbox(stack) -> Mailbox:
    return Mailbox(stack.mail_api())


def verified_user(app, mailbox: Mailbox) -> tuple[Browser, str]:
    """A signed-in user who registered with an address and opened its confirmation link."""
    user, email = Browser(app.test_client()), address("verified")
    resp = user.form_post("/register", {"username": unique_name(), "password": PASSWORD, "confirm": PASSWORD,
                                        "timezone": "UTC", "email": email})
    assert resp.status_code == 302
    message, = mailbox.wait_for(email, "Confirm")
    assert user.get(path_of(links_in(message)[0])).status_code == 200
    return user, email


def test_registration_with_an_address_sends_one_confirmation_to_it_alone(app, mailbox):
    user, email = Browser(app.test_client()), address("new")
    name = unique_name()
    resp = user.form_post("/register", {"username": name, "password": PASSWORD, "confirm": PASSWORD,
                                        "timezone": "UTC", "email": email})
    assert resp.status_code == 302
    message, = mailbox.wait_for(email, "Confirm your e-mail address")
    assert [to["Address"] for to in message["To"]] == [email]
    assert not message["Cc"] and not message["Bcc"]
    assert name in message["HTML"]
    link = links_in(message)[0]
    assert "/verify-email/" in link
    assert "Waiting for confirmation" in user.get("/settings").get_data(as_text=True)

    confirmed = user.get(path_of(link))
    assert confirmed.status_code == 200 and email in confirmed.get_data(as_text=True)
    settings = user.get("/settings").get_data(as_text=True)
    assert f"<strong>{email}</strong> (verified)" in settings
    assert "E-mail address verified" in settings  # the security log

    again = user.get(path_of(link))  # single use: a clear page, nothing changes
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)


def test_a_forged_or_expired_confirmation_link_changes_nothing(app, user):
    forged = user.get("/verify-email/not-a-token")
    assert forged.status_code == 400 and "cannot be used" in forged.get_data(as_text=True)
    user_id = user_id_of(user)
    with mock.patch("itsdangerous.timed.time.time", return_value=1_000_000_000):  # signed in 2001
        old = links.make(app.secret_key, links.VERIFY_EMAIL, {"u": user_id, "a": "x@example.test", "n": "n"})
    expired = user.get(f"/verify-email/{old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert "x@example.test" not in user.get("/settings").get_data(as_text=True)


def test_password_reset_by_email_is_single_use_and_signs_every_session_out(app, mailbox, anonymous):
    user, email = verified_user(app, mailbox)
    other_device = Browser(app.test_client())
    username = _username(user)
    assert other_device.form_post("/login", {"username": username, "password": PASSWORD}).status_code == 302

    sent = anonymous.form_post("/password-reset", {"identifier": email})
    assert sent.status_code == 200 and "Check your e-mail" in sent.get_data(as_text=True)
    message, = mailbox.wait_for(email, "Reset your Taskboard password")
    assert [to["Address"] for to in message["To"]] == [email]
    link = path_of(next(link for link in links_in(message) if "/password-reset/" in link))

    form = anonymous.get(link)
    assert form.status_code == 200 and username in form.get_data(as_text=True)
    done = anonymous.form_post(link, {"password": "a brand new secret", "confirm": "a brand new secret"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")

    for session in (user, other_device):  # every session of the account ended
        resp = session.get("/settings")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    reused = anonymous.get(link)
    assert reused.status_code == 400 and "used already" in reused.get_data(as_text=True)
    fresh = Browser(app.test_client())
    assert fresh.form_post("/login", {"username": username, "password": PASSWORD}).status_code == 422
    assert fresh.form_post("/login", {"username": username, "password": "a brand new secret"}).status_code == 302
    assert "Password reset by e-mail link" in fresh.get("/settings").get_data(as_text=True)


def _username(user: Browser) -> str:
    with user.client.session_transaction() as session:
        return session["profile"]["username"]


def test_a_reset_request_looks_the_same_whether_or_not_the_account_exists(app, mailbox):
    user, email = verified_user(app, mailbox)
    nobody = address("nobody")
    pages = []
    for identifier in (nobody, unique_name("ghost"), email):
        browser = Browser(app.test_client())
        resp = browser.form_post("/password-reset", {"identifier": identifier})
        pages.append((resp.status_code, resp.get_data(as_text=True)))  # no form on it: nothing varies
    assert pages[0] == pages[1] == pages[2]
    mailbox.wait_for(email, "Reset your Taskboard password")  # the real one arrived (queued last) …
    assert mailbox.to(nobody) == []  # … and nothing went to an address no account has


def test_expired_and_forged_reset_links_get_a_clear_page_and_change_nothing(app, mailbox, anonymous):
    user, email = verified_user(app, mailbox)
    with app.app_context():
        from webapp.accounts import profile
        record = profile.record_of(user_id_of(user))
    payload = {"u": record["id"], "f": links.password_fingerprint(record["password_hash"])}
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 31 * 60):
        old = links.make(app.secret_key, links.PASSWORD_RESET, payload)
    expired = anonymous.get(f"/password-reset/{old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    forged = links.make("another key", links.PASSWORD_RESET, payload)
    assert anonymous.get(f"/password-reset/{forged}").status_code == 400
    # a verification link is no reset link (each purpose has its own salt)
    other_purpose = links.make(app.secret_key, links.VERIFY_EMAIL, payload)
    assert anonymous.get(f"/password-reset/{other_purpose}").status_code == 400
    posted = anonymous.form_post(f"/password-reset/{old}", {"password": "x" * 12, "confirm": "x" * 12},
                                 page_url="/password-reset")
    assert posted.status_code == 410
    assert user.get("/settings").status_code == 200  # still signed in: nothing changed


def test_a_chosen_notification_arrives_by_email_and_its_link_unsubscribes_without_signing_in(app, mailbox):
    user, email = verified_user(app, mailbox)
    prefs = {"form": "prefs", "prefs-completed": "y", "prefs-assigned": "y"}
    assert user.form_post("/account/email", prefs).status_code == 302
    task_id = user.create_task(title="Ship the mail feature")
    assert user.action(task_id, "complete").status_code == 302
    message, = mailbox.wait_for(email, "was completed")
    assert [to["Address"] for to in message["To"]] == [email]
    assert "Ship the mail feature" in message["HTML"]
    unsubscribe = path_of(next(link for link in links_in(message) if "/unsubscribe/" in link))

    stranger = Browser(app.test_client())  # a mail client's one-click POST: no session, no CSRF token
    page = stranger.get(unsubscribe)
    assert page.status_code == 200 and "A task I follow is completed" in page.get_data(as_text=True)
    done = stranger.client.post(unsubscribe)
    assert done.status_code == 200 and "Unsubscribed" in done.get_data(as_text=True)
    choices = user.get("/account/email").get_data(as_text=True)
    assert " checked" not in re.search(r'<input[^>]*id="prefs-completed"[^>]*>', choices).group(0)
    assert " checked" in re.search(r'<input[^>]*id="prefs-assigned"[^>]*>', choices).group(0)
    assert stranger.client.post("/unsubscribe/forged-token").status_code == 400


def test_nothing_is_sent_to_an_address_before_it_is_verified(app, mailbox):
    user, email = Browser(app.test_client()), address("unverified")
    user.form_post("/register", {"username": unique_name(), "password": PASSWORD, "confirm": PASSWORD,
                                 "timezone": "UTC", "email": email})
    user.form_post("/account/email", {"form": "prefs", "prefs-completed": "y"})
    task_id = user.create_task(title="Not by mail")
    assert user.action(task_id, "complete").status_code == 302
    reset = Browser(app.test_client()).form_post("/password-reset", {"identifier": email})
    assert reset.status_code == 200
    eventually(lambda: "was completed" in user.get("/notifications").get_data(as_text=True))
    confirm, = mailbox.wait_for(email, "Confirm")
    subjects = [m["Subject"] for m in mailbox.to(email)]
    assert subjects == [confirm["Subject"]], subjects  # the confirmation only: no notification, no reset


def test_the_daily_digest_goes_by_email_when_chosen(app, mailbox):
    from datetime import datetime, timedelta, timezone
    from webapp.background import digests
    user, email = verified_user(app, mailbox)
    assert user.form_post("/account/email", {"form": "prefs", "prefs-digest": "y"}).status_code == 302
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    user.create_task(title="Late work", due_at=yesterday)
    with app.app_context():
        assert digests.fire({"user_id": user_id_of(user)}) == "sent"
    message, = mailbox.wait_for(email, "Daily digest")
    assert [to["Address"] for to in message["To"]] == [email]
    assert "1 overdue" in message["HTML"]
    assert any("/unsubscribe/" in link for link in links_in(message))


def test_changing_the_address_asks_the_password_and_keeps_the_old_one_until_the_new_is_confirmed(app, mailbox):
    user, email = verified_user(app, mailbox)
    bad = user.form_post("/account/email", {"form": "address", "address-email": "two@example.test; three@x.test",
                                            "address-current_password": PASSWORD})
    assert bad.status_code == 422 and "Enter one e-mail address" in bad.get_data(as_text=True)
    wrong = user.form_post("/account/email", {"form": "address", "address-email": address("new"),
                                              "address-current_password": "not my password"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    new = address("new")
    assert user.form_post("/account/email", {"form": "address", "address-email": new,
                                             "address-current_password": PASSWORD}).status_code == 302
    message, = mailbox.wait_for(new, "Confirm")
    settings = user.get("/settings").get_data(as_text=True)
    assert f"<strong>{email}</strong> (verified)" in settings and f"Waiting for confirmation: {new}" in settings
    assert user.get(path_of(links_in(message)[0])).status_code == 200
    assert f"<strong>{new}</strong> (verified)" in user.get("/settings").get_data(as_text=True)
    removed = user.form_post("/account/email", {"form": "address", "address-email": "",
                                                "address-current_password": PASSWORD})
    assert removed.status_code == 302
    page = user.get("/settings").get_data(as_text=True)
    assert new not in page and "E-mail address removed" in page
