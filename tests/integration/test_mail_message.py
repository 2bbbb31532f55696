"""What a message is, read from the stack's Mailpit: multipart/alternative (text and HTML), addressed to one
user, and a notification's List-Unsubscribe one-click link (RFC 8058) working without a session."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest

from tests.conftest import Browser, unique_name
from tests.integration.mailbox import Mailbox, address, links_in, path_of

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def mailbox(stack) -> Mailbox:
    return Mailbox(stack.mail_api())


def one_click(url: str) -> tuple[int, str]:
    """What a mail client sends for a one-click unsubscribe (RFC 8058): a bare POST, no cookie, no token."""
    request = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def assert_multipart_to(mailbox: Mailbox, message: dict, recipient: str) -> dict:
    """Both parts there, sent to ``recipient`` alone; the message's headers."""
    headers = mailbox.headers(message["ID"])
    assert headers["Content-Type"][0].startswith("multipart/alternative;"), headers["Content-Type"]
    assert headers["To"] == [recipient] and not headers.get("Cc") and not headers.get("Bcc")
    assert [to["Address"] for to in message["To"]] == [recipient]
    assert message["Text"].strip() and message["HTML"].strip()
    assert "<" not in message["Text"]
    return headers


def test_account_mail_has_a_text_and_an_html_part_and_no_unsubscribe_header(app, mailbox):
    email = address("parts")
    Browser(app.test_client()).form_post("/register", {"username": unique_name(), "password": PASSWORD,
                                                       "confirm": PASSWORD, "timezone": "UTC", "email": email})
    message, = mailbox.wait_for(email, "Confirm")
    headers = assert_multipart_to(mailbox, message, email)
    link = links_in(message)[0]
    assert link in message["Text"]  # the same link in both parts
    assert "List-Unsubscribe" not in headers  # nothing to unsubscribe from: it was asked for


def test_a_notification_carries_a_one_click_unsubscribe_that_works_without_a_session(app, stack, mailbox):
    user, email = Browser(app.test_client()), address("oneclick")
    user.form_post("/register", {"username": unique_name(), "password": PASSWORD, "confirm": PASSWORD,
                                 "timezone": "UTC", "email": email})
    confirm, = mailbox.wait_for(email, "Confirm")
    assert user.get(path_of(links_in(confirm)[0])).status_code == 200
    prefs = {"form": "prefs", "prefs-completed": "y", "prefs-assigned": "y"}
    assert user.form_post("/account/email", prefs).status_code == 302
    task_id = user.create_task(title="Multipart at last")
    assert user.action(task_id, "complete").status_code == 302

    message, = mailbox.wait_for(email, "was completed")
    headers = assert_multipart_to(mailbox, message, email)
    assert "Multipart at last" in message["Text"] and "Multipart at last" in message["HTML"]
    unsubscribe, = re.fullmatch(r"<(https?://[^>]+)>", headers["List-Unsubscribe"][0]).groups()
    assert headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    assert unsubscribe.startswith(stack.url() + "/unsubscribe/")
    assert unsubscribe in message["Text"] and unsubscribe in links_in(message)

    # Single-purpose: the confirmation link's token, signed for another purpose, unsubscribes nothing.
    confirm_token = links_in(confirm)[0].rsplit("/", 1)[1]
    assert one_click(f"{stack.url()}/unsubscribe/{confirm_token}")[0] == 400
    assert one_click(unsubscribe + "x")[0] == 400  # signed: a changed link is refused
    status, page = one_click(unsubscribe)
    assert status == 200 and "Unsubscribed" in page
    choices = user.get("/account/email").get_data(as_text=True)
    assert " checked" not in re.search(r'<input[^>]*id="prefs-completed"[^>]*>', choices).group(0)
    assert " checked" in re.search(r'<input[^>]*id="prefs-assigned"[^>]*>', choices).group(0)  # that kind only
