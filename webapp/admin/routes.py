"""Operator pages at /admin: the dead letters, with replay.

Operators are accounts whose stored record says ``is_admin`` (granted with
``flask --app wsgi grant-admin USERNAME``); to anyone else, signed in or not,
these pages do not exist (404).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import state_lists
from ..auth import users
from ..events import publish_metadata
from ..extensions import csrf
from ..keys import DEAD_LETTERS
from ..sidecar import gateway

bp = Blueprint("admin", __name__, url_prefix="/admin")
csrf.exempt(bp)  # checked in admins_only, after the rights: to others even a bad form is a 404


def is_admin() -> bool:
    """Whether the signed-in user is an operator, as the session says (for the navigation)."""
    return current_user.is_authenticated and current_user.is_admin


@bp.before_request
def admins_only():
    """404 unless the stored account is an operator now (one read: a revoke takes effect at once)."""
    if not current_user.is_authenticated:
        abort(404)
    user = users.load(current_user.id)
    admin = bool(user and user.is_admin)
    if session.get("profile", {}).get("is_admin") != admin:
        session["profile"] = {**session["profile"], "is_admin": admin}
    if not admin:
        abort(404)
    csrf.protect()


class ReplayForm(FlaskForm):
    """The CSRF token of a replay button."""


@bp.get("/dead-letters")
def dead_letters():
    items, _ = state_lists.read(DEAD_LETTERS)
    return render_template("admin/dead_letters.html", items=items, form=ReplayForm())


@bp.post("/dead-letters/<letter_id>/replay")
def replay(letter_id: str):
    """Publish a dead letter again on its original topic, with its original id."""
    items, _ = state_lists.read(DEAD_LETTERS)
    letter = next((i for i in items if i["id"] == letter_id), None)
    if letter is None:
        abort(404)
    data = letter["data"] if isinstance(letter["data"], dict) else {"raw": letter["data"]}
    metadata = {"cloudevent.id": letter_id}
    if data.get("event_id") and data.get("type") and data.get("user_id"):
        metadata = {**publish_metadata(data), "cloudevent.id": letter_id}
    gateway().publish(letter["original_topic"], data, metadata)
    # Remove this copy only: if the replay is dropped again, its new copy may already be here.
    state_lists.update(DEAD_LETTERS, lambda xs: [x for x in xs if not (
        x["id"] == letter_id and x["received_at"] == letter["received_at"])])
    flash(f"Replayed {letter_id} on {letter['original_topic']}.", "success")
    return redirect(url_for("admin.dead_letters"))
