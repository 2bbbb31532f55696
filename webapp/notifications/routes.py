"""The inbox pages at /notifications: read a page, mark one or all read."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import inbox

bp = Blueprint("notifications", __name__)


def _page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None  # an event with an odd timestamp still shows, undated


def _back_to(page_number: int, anchor: str | None = None):
    return redirect(url_for("notifications.inbox", page=page_number if page_number > 1 else None, _anchor=anchor))


@bp.get("/notifications", endpoint="inbox")
@login_required
def inbox_page():
    """The inbox, newest first, a page at a time; reading it changes nothing."""
    number = request.args.get("page", 1, type=int)
    if number < 1:
        abort(404)
    shown = inbox.page(current_user.id, number)
    if number > shown.pages:
        abort(404)
    items = [{**i, "at": _when(i.get("at"))} for i in shown.items]
    return render_template("notifications/inbox.html", inbox=shown, items=items)


@bp.post("/notifications/read")
@login_required
def mark_read():
    """Mark one notification read (the form names it); 404 if it is not in the inbox."""
    notification_id = request.form.get("id", "")
    if inbox.mark_read(current_user.id, notification_id) is None:
        abort(404)
    return _back_to(_page_number(request.form.get("page")), f"n-{notification_id}")


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    """Mark read every notification up to the newest one the page showed."""
    changed = inbox.mark_all_read(current_user.id, request.form.get("upto") or None)
    flash(f"Marked {changed} notification{'' if changed == 1 else 's'} read." if changed
          else "Nothing to mark: everything was read already.", "success" if changed else "info")
    return _back_to(_page_number(request.form.get("page")))
