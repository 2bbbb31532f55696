"""The sign-in's second step: who passed the first one (password or single sign-on) and waits for a code.

The session holds ``second_step`` = {user id, username, time zone, admin, since, next, via} and nothing that
signs anyone in (no ``profile``): until the code passes, every page sees an anonymous visitor. It lapses
after PENDING_SECONDS.
"""

from __future__ import annotations

import time

from flask import session

PENDING_SECONDS = 5 * 60
SESSION_KEY = "second_step"


def begin(user, next_url: str | None, via: str) -> None:
    """Start a fresh session that waits for ``user``'s code (``via``: ``password`` or ``sso``)."""
    session.clear()  # nothing from before survives (session fixation)
    session[SESSION_KEY] = {"user_id": user.id, "username": user.username, "timezone": user.timezone,
                            "is_admin": user.is_admin, "since": time.time(), "next": next_url, "via": via}


def pending() -> dict | None:
    """Who waits for the second step in this session, or None (never started, or lapsed)."""
    waiting = session.get(SESSION_KEY)
    if not waiting or time.time() - float(waiting.get("since", 0)) > PENDING_SECONDS:
        return None
    return waiting


def end() -> None:
    session.pop(SESSION_KEY, None)
