"""Test helpers: turn a user's second factor on through its pages, with codes computed from the secret."""

from __future__ import annotations

import re
import time

import pyotp

from tests.conftest import Browser

PASSWORD = "correct horse battery"


def secret_on_page(html: str) -> str:
    return re.search(r'data-secret="([A-Z2-7]+)"', html).group(1)


def recovery_codes_on_page(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", html)


def fresh_code(secret: str, used: set[str] | None = None) -> str:
    """The current code, or (when it was used already) the next step's, which the drift accepts."""
    totp = pyotp.TOTP(secret)
    code = totp.now()
    if used is not None and code in used:
        code = totp.at(time.time() + 30)
    if used is not None:
        used.add(code)
    return code


def enable_two_factor(user: Browser) -> tuple[str, list[str]]:
    """Set up and confirm the second factor; returns the secret and the recovery codes shown once."""
    assert user.form_post("/account/two-factor", {"action": "start"}).status_code == 302
    page = user.get("/account/two-factor").get_data(as_text=True)
    secret = secret_on_page(page)
    resp = user.form_post("/account/two-factor", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    shown = user.get("/account/two-factor").get_data(as_text=True)
    return secret, recovery_codes_on_page(shown)


def password_step(app, username: str, address: str = "198.51.100.20") -> Browser:
    """A new browser that has passed the password step."""
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = address
    resp = browser.form_post("/login", {"username": username, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/two-factor"), resp.headers
    return browser
