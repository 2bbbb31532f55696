"""Signed links, addresses, e-mail choices and security-log entries: pure logic."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from unittest import mock

import pytest

from webapp.accounts import links, profile, security_log
from webapp.notification_service import email

KEY = "k" * 32


def test_a_link_reads_back_only_for_its_own_purpose_and_key():
    token = links.make(KEY, links.PASSWORD_RESET, {"u": "1", "f": "abc"})
    assert links.read(KEY, links.PASSWORD_RESET, token, 60) == {"u": "1", "f": "abc"}
    with pytest.raises(links.LinkInvalid):
        links.read(KEY, links.VERIFY_EMAIL, token, 60)
    with pytest.raises(links.LinkInvalid):
        links.read("another key", links.PASSWORD_RESET, token, 60)
    with pytest.raises(links.LinkInvalid):
        links.read(KEY, links.PASSWORD_RESET, token[:-2] + "xx", 60)
    with pytest.raises(links.LinkInvalid):
        links.read(KEY, links.PASSWORD_RESET, "x" * 2000, 60)


def test_a_reset_link_expires_after_thirty_minutes():
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - links.RESET_MAX_AGE_SECONDS - 5):
        token = links.make(KEY, links.PASSWORD_RESET, {"u": "1"})
    with pytest.raises(links.LinkExpired):
        links.read(KEY, links.PASSWORD_RESET, token, links.RESET_MAX_AGE_SECONDS)
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - links.RESET_MAX_AGE_SECONDS + 60):
        fresh = links.make(KEY, links.PASSWORD_RESET, {"u": "1"})
    assert links.read(KEY, links.PASSWORD_RESET, fresh, links.RESET_MAX_AGE_SECONDS) == {"u": "1"}


def test_any_new_password_hash_voids_the_fingerprint_a_reset_link_carries():
    from werkzeug.security import generate_password_hash
    first, second = generate_password_hash("same"), generate_password_hash("same")
    assert links.password_fingerprint(first) != links.password_fingerprint(second)  # salted
    assert links.same(links.password_fingerprint(first), links.password_fingerprint(first))


@pytest.mark.parametrize("address,ok", [
    ("ann@example.com", True), ("a.b+tag@sub.example.org", True),
    ("ann@example", False), ("ann", False), ("a;b@example.com", False), ("a@example.com;b@example.com", False),
    ("a,b@example.com", False), ("Ann <ann@example.com>", False), ("a\r\nBcc: x@y.z@example.com", False),
    ("a@-example.com", False), ("a" * 65 + "@example.com", False),
])
def test_an_address_is_one_recipient_with_no_header_characters(address, ok):
    assert profile.valid_address(address) is ok


def test_email_choices_have_defaults_and_map_notification_kinds():
    assert profile.preferences({}) == profile.DEFAULT_PREFS
    assert profile.preferences({"email_prefs": {"digest": True, "bogus": True}})["digest"] is True
    assert "bogus" not in profile.preferences({"email_prefs": {"bogus": True}})
    assert profile.preference_of("task.assigned") == "assigned"
    assert profile.preference_of("digest") == "digest"
    assert profile.preference_of("info") is None


def test_a_security_log_entry_is_bounded_in_bytes():
    entry = security_log.entry_for("sign-in", "1.2.3.4" * 40, {f"k{n}": "x" * 5000 for n in range(20)},
                                   datetime.now(timezone.utc))
    assert len(entry["details"]) == 5 and all(len(v) == security_log.DETAIL_MAX for v in entry["details"].values())
    assert len(entry["address"]) == 64
    assert len(json.dumps(entry)) < 1500  # × LIMIT entries: the whole log stays small


@pytest.mark.parametrize("message,problem", [
    ({"to": "a@example.com", "subject": "s", "html": "<p>x</p>"}, None),
    ({"to": "a@example.com;b@example.com", "subject": "s", "html": "x"}, "email.to must be one address"),
    ({"to": "a@example.com", "subject": "", "html": "x"}, "email.subject is missing"),
    ({"to": "a@example.com", "subject": "s", "html": "x" * 200_000}, "email.html is too large"),
    ("not an object", "email must be an object"),
])
def test_the_notifier_takes_one_bounded_message_to_one_address(message, problem):
    assert email.check(message) == problem


def test_a_security_event_is_one_json_line_for_operators_and_one_entry_for_the_user(monkeypatch):
    import io
    import logging

    from pythonjsonlogger.json import JsonFormatter
    kept = []
    monkeypatch.setattr(security_log.state_lists, "append", lambda key, entry, limit: kept.append((key, entry, limit)))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    security_log.log.addHandler(handler)
    level = security_log.log.level
    security_log.log.setLevel(logging.INFO)  # as configure_logging sets the root logger in the apps
    try:
        security_log.record("u1", "password-changed", "203.0.113.9", via="settings")
    finally:
        security_log.log.removeHandler(handler)
        security_log.log.setLevel(level)
    line = json.loads(stream.getvalue().strip())
    assert line["security_event"] == "password-changed" and line["user_id"] == "u1"
    assert line["client_address"] == "203.0.113.9" and line["detail_via"] == "settings"
    (key, entry, limit), = kept
    assert key == "security-log:u1" and limit == security_log.LIMIT
    assert entry["kind"] == "password-changed" and entry["address"] == "203.0.113.9"


def test_a_security_event_the_store_cannot_keep_never_fails_the_action(monkeypatch):
    from webapp.dapr_gateway import Unavailable

    def down(*_args):
        raise Unavailable("store down")
    monkeypatch.setattr(security_log.state_lists, "append", down)
    security_log.record("u1", "sign-in", "203.0.113.9")  # no exception
