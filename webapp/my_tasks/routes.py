"""``GET /my``: my open tasks on every board I am on, grouped by when they are due in my zone."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from .. import notifications
from ..accounts import sessions
from ..keys import inbox_key, user_key
from . import entries, reading

bp = Blueprint("my_tasks", __name__)
SHOWN_PER_GROUP = 50  # the soonest of each group; the rest are counted (their boards' lists show them all)


@bp.get("/my")
@login_required
def my_tasks():
    user_id = current_user.id
    mine, (head, account) = reading.read(user_id, also=[inbox_key(user_id), user_key(user_id)])
    sessions.check_read(user_id, account)  # the session's generation, read with the page's data (no extra call)
    notifications.badge_from(user_id, head)
    now = datetime.now(timezone.utc)
    groups = entries.grouped(mine.tasks, now, current_user.timezone)
    return render_template("my_tasks/my.html", groups=groups, board_names=mine.board_names, more=mine.more,
                           total=len(mine.tasks), now=now, shown=SHOWN_PER_GROUP)
