"""Each e-mail kind has a text and an HTML template with the same content; the notifier's request check."""

from __future__ import annotations

import pytest

from webapp.accounts import mail
from webapp.app import create_app
from webapp.notification_service import email

VALUES = {
    "verify_email": {"username": "ann", "link": "http://board.test/verify-email/tok"},
    "password_reset": {"username": "ann", "link": "http://board.test/password-reset/tok", "minutes": 30},
    "notification": {"username": "ann", "message": "“Ship <it>” was completed", "task_link": "http://board.test/tasks/1",
                     "preference": "A task I follow is completed", "unsubscribe": "http://board.test/unsubscribe/tok",
                     "settings": "http://board.test/account/email"},
}


@pytest.fixture(scope="module")
def mail_app():
    return create_app({"TESTING": True, "SECRET_KEY": "unit"})


def test_every_account_mail_kind_has_both_templates():
    assert {kind for _, _, kind in mail.ACCOUNT_MAIL.values()} | {"notification"} == set(VALUES)


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_both_parts_carry_the_greeting_and_every_link(mail_app, kind):
    with mail_app.test_request_context():
        parts = mail.render(kind, **VALUES[kind])
    links = [v for v in VALUES[kind].values() if isinstance(v, str) and v.startswith("http")]
    for part in ("text", "html"):
        assert "Hello ann," in parts[part]
        assert all(link in parts[part] for link in links), (part, links)
    assert "<" not in parts["text"].replace("<it>", "")  # plain text: no markup
    if kind == "notification":
        assert "“Ship <it>” was completed" in parts["text"]  # not escaped in text
        assert "“Ship &lt;it&gt;” was completed" in parts["html"]  # escaped in HTML


BASE = {"to": "ann@example.test", "subject": "Hi", "html": "<p>Hi</p>"}


@pytest.mark.parametrize("extra, problem", [
    ({}, None),
    ({"text": "Hi", "unsubscribe": "https://board.test/unsubscribe/tok"}, None),
    ({"text": 3}, "email.text must be text of at most 50 kB"),
    ({"text": "x" * 50_001}, "email.text must be text of at most 50 kB"),
    ({"unsubscribe": "mailto:x@example.test"}, "email.unsubscribe must be one http(s) URL"),
    ({"unsubscribe": "https://board.test/u\r\nBcc: x@example.test"}, "email.unsubscribe must be one http(s) URL"),
    ({"to": "a@example.test, b@example.test"}, "email.to must be one address"),
])
def test_the_notifier_checks_the_optional_parts(extra, problem):
    assert email.check({**BASE, **extra}) == problem
