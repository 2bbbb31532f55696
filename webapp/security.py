"""Security headers on every response, and the one check of redirect targets taken from a request."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote

from flask import Flask, g, request, session
from flask_login import current_user

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")

# Characters a browser's URL parser strips, ignores or treats as a separator (WHATWG URL:
# C0 controls and space are trimmed, tab/newline removed anywhere, "\" read as "/"), plus
# every Unicode control, format, space and unassigned character.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
# What may stay in a path after non-ASCII characters are percent-encoded: printable ASCII but "\".
_PATH_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "\\%")
_LOCAL_PATH = re.compile(r"^/(?![/\\])[\x21-\x5b\x5d-\x7e]*$")  # "/x…": printable ASCII, no "\", not "//"
MAX_TARGET_LENGTH = 2048


def safe_redirect_target(target: object) -> str | None:
    """``target`` as a path on this site (ASCII, percent-encoded), or None if a browser could leave the site with it.

    Accepts only an absolute path ("/tasks?page=2"): no scheme, no host, no
    "//" or dot segment in the path, no backslash, control or space character,
    and none of them hidden behind percent-encoding. Never raises.
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > MAX_TARGET_LENGTH:
        return None
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in target):
        return None
    encoded = quote(target, safe=_PATH_SAFE + "%")  # non-ASCII → %XX, as a browser would send it
    if not _LOCAL_PATH.match(encoded):
        return None
    decoded = encoded
    for _ in range(3):  # a proxy or a later hop may decode again: what it would see must be local too
        decoded = unquote(decoded, errors="replace")
        path = re.split(r"[?#]", decoded, maxsplit=1)[0]
        # "//" or a dot segment in the path: "/.//host" resolves to the path "//host", which a
        # later redirect (a trailing-slash one, say) would send as a scheme-relative URL.
        if "//" in path or any(seg in (".", "..") for seg in path.split("/")) or any(
                ch == "\\" or unicodedata.category(ch) == "Cc" for ch in decoded):
            return None
    return encoded


# Files and probes are the same for everyone, whoever asks.
SHARED_ENDPOINTS = {"static", "favicon", "health.healthz", "health.readyz"}


def _is_private() -> bool:
    """The response depends on who asked: a signed-in user, a bearer token, or a form's CSRF token."""
    if request.endpoint in SHARED_ENDPOINTS:
        return False
    # Not ``session.accessed``: Flask-Login reads the session after every request, so it is always set.
    return bool(current_user.is_authenticated or getattr(g, "api_user", None) or "csrf_token" in g
                or request.headers.get("Authorization") or session.modified)


HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
           ("Referrer-Policy", "same-origin"))
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")  # with Secure cookies (HTTPS)


def register(app: Flask) -> None:
    plain = tuple((name.lower(), (name, value)) for name, value in HEADERS)
    secure = (*plain, (HSTS[0].lower(), HSTS))

    @app.after_request
    def add_headers(response):
        # Each header the view did not set itself, in one pass over the response's headers.
        present = {name.lower() for name, _ in response.headers}
        defaults = secure if app.config["SESSION_COOKIE_SECURE"] else plain
        response.headers.extend([header for name, header in defaults if name not in present])
        if _is_private():
            # A signed-in page, a form carrying a CSRF token, an API answer: no shared or back-button cache.
            response.headers["Cache-Control"] = "no-store"
        return response

