"""The feed (``GET /calendar/<secret>.ics``, no session: the secret is the credential) and its Settings forms:
create a feed URL (every board, or one), replace its secret, revoke it."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField

from ..boards import store as boards_store
from ..my_tasks import reading
from . import feeds, ics

bp = Blueprint("calendar_feed", __name__)


class FeedForm(FlaskForm):
    """A new feed: of every board, or of one."""

    board = SelectField("Tasks of", choices=[("", "Every board")], default="")

    def offer(self, boards: dict[str, dict]) -> None:
        self.board.choices = [("", "Every board"), *((b, entry["name"]) for b, entry in boards.items())]


class FeedActionForm(FlaskForm):
    """The CSRF token of a replace or revoke button."""


def settings_context(user_id: str) -> dict:
    """What the Settings page shows of the feeds: the person's feeds and the form for a new one (two reads)."""
    form = FeedForm(formdata=None)
    form.offer(boards_store.memberships(user_id))
    listed = [{**f, "created_at": datetime.fromisoformat(f["created_at"])} for f in feeds.listing(user_id)]
    return {"feeds": listed, "feed_form": form, "feed_action": FeedActionForm(formdata=None),
            "feed_limit": feeds.LIMIT}


@bp.get("/calendar/<secret>.ics")
def feed(secret: str):
    opened = feeds.opened(secret)  # 404 for an unknown or revoked secret
    mine, _ = reading.read(opened["user_id"], board_id=opened.get("board_id"))
    name = "Taskboard: my tasks" + (f" on {mine.board_names[opened['board_id']]}"
                                    if opened.get("board_id") in mine.board_names else "")
    body = ics.calendar(mine.tasks, mine.board_names,
                        lambda task_id: url_for("tasks.detail", task_id=task_id, _external=True),
                        datetime.now(timezone.utc), name=name)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "no-store",
                                                             "Content-Disposition": 'inline; filename="tasks.ics"'})


@bp.post("/settings/calendar")
@login_required
def create():
    form = FeedForm()
    boards = boards_store.memberships(current_user.id)
    form.offer(boards)
    if not form.validate_on_submit():
        flash("Choose every board or one of your boards.", "error")
        return redirect(url_for("auth.settings"))
    board_id = form.board.data or None
    try:
        feeds.create(current_user.id, board_id, boards[board_id]["name"] if board_id else "Every board")
    except feeds.TooManyFeeds as err:
        flash(f"{err} Revoke one you no longer use, then create this one.", "error")
        return redirect(url_for("auth.settings"))
    flash("Calendar feed created: add its address to your calendar app.", "success")
    return redirect(url_for("auth.settings") + "#calendar")


def _checked() -> None:
    if not FeedActionForm().validate_on_submit():
        abort(400)


@bp.post("/settings/calendar/<feed_id>/replace")
@login_required
def replace(feed_id: str):
    _checked()
    feeds.replace(current_user.id, feed_id)  # NotFound (404) when it is not the person's
    flash("Calendar feed address replaced: the old one no longer works.", "success")
    return redirect(url_for("auth.settings") + "#calendar")


@bp.post("/settings/calendar/<feed_id>/revoke")
@login_required
def revoke(feed_id: str):
    _checked()
    feeds.revoke(current_user.id, feed_id)  # NotFound (404) when it is not the person's
    flash("Calendar feed revoked.", "success")
    return redirect(url_for("auth.settings") + "#calendar")
