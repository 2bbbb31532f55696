"""Security headers on every response, the one check of redirect targets taken from a request, and the CSRF token
that pages carry."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

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


_SIGNED_TOKENS: dict[tuple, str] = {}  # (secret key, a session's raw CSRF token) -> its signed form, per worker
SIGNED_TOKENS_KEPT = 1024


def csrf_token() -> str:
    """The CSRF token this request's forms carry: Flask-WTF's ``generate_csrf``, signing a session's raw token once
    per worker instead of on every page (every signed-in page has at least the Sign out form).

    Only while ``WTF_CSRF_TIME_LIMIT`` is None (the token lives as long as the session): ``validate_csrf`` then
    never reads the timestamp a signature carries, so a token signed earlier for the same raw token and key is as
    valid as a new one. With a time limit every page signs anew, as Flask-WTF does.
    """
    if "csrf_token" in g:
        return g.csrf_token
    config = current_app.config
    raw = session.get("csrf_token")
    if config.get("WTF_CSRF_TIME_LIMIT") is not None or config.get("WTF_CSRF_SECRET_KEY") \
            or config.get("WTF_CSRF_FIELD_NAME", "csrf_token") != "csrf_token" or not isinstance(raw, str):
        return generate_csrf()
    key = (current_app.secret_key, raw)
    signed = _SIGNED_TOKENS.get(key)
    if signed is None:
        signed = generate_csrf()
        if len(_SIGNED_TOKENS) >= SIGNED_TOKENS_KEPT:
            _SIGNED_TOKENS.clear()
        _SIGNED_TOKENS[key] = signed
    g.csrf_token = signed
    return signed


_CSRF_CONTEXT = {"csrf_token": csrf_token}


def register(app: Flask) -> None:
    # In place of Flask-WTF's generate_csrf, which CSRFProtect made a template global and a context processor:
    # ours is registered after it, so its value wins.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: _CSRF_CONTEXT)
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

