"""Sessions that the server can end: each session carries the account's ``session_generation`` at sign-in,
and a request whose generation is older than the stored one is signed out.

The check reads ``user:<id>`` together with the inbox head in one bulk get and hands the head to the navigation
badge, so a page that shows the badge makes no more sidecar calls than before; a request that renders no page (a
form's redirect) makes one. Raising the generation (sign out everywhere, a password change or reset) ends every
session at the next request; the session that asked is given the new generation and stays signed in.
"""

from __future__ import annotations

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from .. import notifications
from ..keys import inbox_key, user_key
from ..sidecar import gateway
from .profile import change_user

SESSION_FIELD = "generation"
# Endpoints that read the inbox head with their own data check the generation themselves (``check_read``).
CHECKS_ITSELF = {"tasks.list_tasks", "boards.board", "boards.changes", "my_tasks.my_tasks", "comments.add",
                 "comments.edit", "comments.delete", "checklists.add", "checklists.change"}
NEVER_CHECKED = {"auth.logout", "static"}  # signing out needs no store; files are the same for everyone
UNCHECKED_BLUEPRINTS = {"health", "inbound", "api", "api-docs", None}


def generation_of(record: dict) -> int:
    return int(record.get("session_generation") or 0)


def current(value: dict | None) -> bool:
    """Whether the signed-in session is at the generation of the stored record (None: the account is gone)."""
    if value is None:
        return False
    return int(session.get(SESSION_FIELD) or 0) >= generation_of(value)


def remember(record: dict) -> None:
    """Stamp the session with the account's generation (at sign-in, and after raising it)."""
    session[SESSION_FIELD] = generation_of(record)


def end_others(user_id: str) -> dict:
    """Raise the account's generation: every other session ends at its next request. The new record."""
    record = change_user(user_id, lambda r: {**r, "session_generation": generation_of(r) + 1})
    if current_user.is_authenticated and current_user.id == user_id:
        remember(record)
    return record


def _signed_out():
    logout_user()
    session.clear()
    flash("You were signed out. Sign in again.", "info")
    return redirect(url_for("auth.login"))


def check_read(user_id: str, record) -> None:
    """For a page that read ``user:<id>`` with its own data: raise ``SignedOut`` if the session has ended."""
    if not current(record.value if record.exists else None):
        raise SignedOut()


class SignedOut(Exception):
    """The session is older than the account's generation (or the account is gone)."""


def register(app: Flask) -> None:
    """Check the session's generation before every signed-in page request."""

    @app.before_request
    def check_generation():
        if not current_user.is_authenticated or request.blueprint in UNCHECKED_BLUEPRINTS \
                or request.endpoint in CHECKS_ITSELF or request.endpoint in NEVER_CHECKED:
            return None
        user_id = current_user.id
        record, head = gateway().get_many([user_key(user_id), inbox_key(user_id)])
        if not current(record.value if record.exists else None):
            return _signed_out()
        notifications.badge_from(user_id, head)
        return None

    @app.errorhandler(SignedOut)
    def signed_out(_err):
        return _signed_out()
