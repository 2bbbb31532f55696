"""Reading what reached the stack's Mailpit, through its HTTP API (``/api/v1``)."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
import uuid

from tests.conftest import Browser, eventually, unique_name

LINK = re.compile(r'href="(https?://[^"]+)"')


def address(prefix: str = "someone") -> str:
    """A fresh address nobody else in the session uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


class Mailbox:
    def __init__(self, api: str):
        self.api = api

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(self.api + path, timeout=10) as resp:
            return json.loads(resp.read())

    def to(self, recipient: str) -> list[dict]:
        """Summaries of the messages sent to ``recipient`` (newest first)."""
        query = urllib.parse.quote(f'to:"{recipient}"')
        return self._get(f"/search?query={query}&limit=50").get("messages", [])

    def message(self, message_id: str) -> dict:
        """One message in full: To, Subject, HTML, Text, …"""
        return self._get(f"/message/{message_id}")

    def headers(self, message_id: str) -> dict:
        return self._get(f"/message/{message_id}/headers")

    def wait_for(self, recipient: str, subject_has: str = "", count: int = 1, timeout: float = 90) -> list[dict]:
        """The full messages to ``recipient`` whose subject contains ``subject_has``, once there are ``count``."""
        def arrived():
            found = [m for m in self.to(recipient) if subject_has in m.get("Subject", "")]
            return found if len(found) >= count else None

        return [self.message(m["ID"]) for m in eventually(arrived, timeout=timeout, interval=0.5)]


def links_in(message: dict) -> list[str]:
    return [link.replace("&amp;", "&") for link in LINK.findall(message["HTML"])]


def path_of(link: str) -> str:
    """The path (and query) of a link in a message, to open with the test client."""
    parts = urllib.parse.urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def verified_user_wanting_completion_mail(app, mailbox: Mailbox, prefix: str,
                                          password: str = "correct horse battery") -> tuple[Browser, str]:
    """A new user whose address is confirmed through the mailed link and who chose mail on completions."""
    user, email = Browser(app.test_client()), address(prefix)
    user.form_post("/register", {"username": unique_name(), "password": password, "confirm": password,
                                 "timezone": "UTC", "email": email})
    confirm, = mailbox.wait_for(email, "Confirm")
    assert user.get(path_of(links_in(confirm)[0])).status_code == 200
    assert user.form_post("/account/email", {"form": "prefs", "prefs-completed": "y"}).status_code == 302
    return user, email
