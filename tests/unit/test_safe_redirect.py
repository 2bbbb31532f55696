"""The one check of redirect targets taken from a request (webapp.security.safe_redirect_target)."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.security.redirect_payloads import BYPASS_PAYLOADS, browser_resolve
from webapp.security import safe_redirect_target


def test_every_known_bypass_is_refused_or_stays_on_this_site():
    for payload in BYPASS_PAYLOADS:
        target = safe_redirect_target(payload)
        if target is not None:
            assert browser_resolve("http://localhost/login", target).netloc == "localhost", payload


def test_the_bypasses_that_fooled_the_old_check_are_refused():
    for payload in ("/\t/evil.example", "/\\evil.example", "/%2f%2fevil.example", "/\r\nSet-Cookie: a=b",
                    "https:evil.example", "\t//evil.example", "///evil.example", "/\u3000/evil.example",
                    "/.//evil.example", "/%2e%2e//evil.example"):
        assert safe_redirect_target(payload) is None, payload


def test_local_paths_are_kept_and_non_ascii_is_percent_encoded():
    assert safe_redirect_target("/tasks?page=2&sort=due") == "/tasks?page=2&sort=due"
    assert safe_redirect_target("/tasks/abc#x") == "/tasks/abc#x"
    assert safe_redirect_target("/tasks?q=caf\u00e9") == "/tasks?q=caf%C3%A9"
    assert safe_redirect_target("/tasks?q=a%20b") == "/tasks?q=a%20b"
    assert safe_redirect_target("/") == "/"


def test_anything_but_a_string_is_refused():
    for value in (None, 42, b"/tasks", ["/tasks"], "", "tasks", "/" + "a" * 5000):
        assert safe_redirect_target(value) is None


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(), max_size=40).map(lambda s: "/" + s) | st.text(max_size=40))
def test_it_never_raises_and_what_it_keeps_is_a_plain_local_path(value):
    target = safe_redirect_target(value)
    if target is None:
        return
    assert target.startswith("/") and not target.startswith("//")
    assert all(0x21 <= ord(ch) < 0x7F and ch != "\\" for ch in target)
    decoded = unquote(unquote(target))
    assert "//" not in decoded.split("?")[0].split("#")[0] and "\\" not in decoded
    assert not any(unicodedata.category(ch) == "Cc" for ch in decoded)
    assert urlsplit(urljoin("http://localhost/login", target)).netloc == "localhost"
