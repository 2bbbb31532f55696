"""Comment views: check the role → validate → store → flash → redirect (the task page shows them)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import markdown, notifications
from ..boards import access
from ..boards import model as boards
from ..keys import board_key, comment_key, inbox_key
from ..boards.task_routes import task_page
from . import service as store
from .forms import CommentDeleteForm, CommentEditForm, CommentForm
from .model import CommentsFull, valid_id

bp = Blueprint("comments", __name__)


def board_members(seen: access.TaskAccess) -> dict:
    """The members of the task's board as the access check read them (a personal board: its owner)."""
    if seen.board_id == current_user.id:
        return {current_user.id: {"username": current_user.username, "role": "owner"}}
    return (seen.extra[board_key(seen.board_id)].value or {}).get("members") or {}


def _csrf_refused(form) -> bool:
    return form.is_submitted() and "csrf_token" in form.errors


@bp.post("/tasks/<task_id>/comments")
@login_required
def add(task_id: str):
    """A comment from the task page; "Preview" shows it rendered without storing it."""
    form = CommentForm()
    # The task, the caller's memberships and the board the page showed: one read when the task is still there.
    seen = access.task_access(current_user.id, task_id, "edit", board_hint=form.board.data or None, indexed=False,
                              checks_session=True)
    valid = form.validate_on_submit()
    if _csrf_refused(form):
        abort(400)
    if valid and _previewing():
        return task_page(task_id, comment_form=form, preview=markdown.render(form.text.data))
    if valid:
        try:
            store.add(seen.board_id, task_id, current_user.id, current_user.username, form.text.data,
                      board_members(seen), read=seen.reads)
        except (CommentsFull, ValueError) as err:
            form.text.errors = [*form.text.errors, str(err)]
        else:
            flash("Comment added.", "success")
            return redirect(url_for("tasks.detail", task_id=task_id, _anchor="comments"))
    return task_page(task_id, status=422, comment_form=form)


def _previewing() -> bool:
    return request.form.get("preview") == "1"


@bp.route("/tasks/<task_id>/comments/<comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(task_id: str, comment_id: str):
    """Its author changes a comment (marked edited); a change made from an older version gets the conflict page."""
    if not valid_id(comment_id):
        abort(404)
    form = CommentEditForm()
    # With the task: the board, the comment, the navigation badge's inbox head and the session's account.
    seen = access.task_access(current_user.id, task_id, "edit", board_hint=form.board.data or None, indexed=False,
                              also=lambda _: [comment_key(task_id, comment_id), inbox_key(current_user.id)],
                              checks_session=True)
    notifications.badge_from(current_user.id, seen.extra[inbox_key(current_user.id)])
    comment, _ = store.load(seen.task, comment_id, seen.extra)
    if comment.author_id != current_user.id:
        abort(403)
    if form.is_submitted() and not form.validate():
        if _csrf_refused(form):
            abort(400)
        return _edit_page(seen, comment, form, status=422)
    if not form.is_submitted():
        form.text.data, form.version.data, form.board.data = comment.text, comment.version, seen.board_id
        return _edit_page(seen, comment, form)
    if _previewing():
        return _edit_page(seen, comment, form, preview=markdown.render(form.text.data))
    try:
        store.edit(seen.task, comment_id, form.version.data, form.text.data, board_members(seen), read=seen.extra)
    except store.StaleComment as stale:
        return _edit_page(seen, stale.current, form, status=409, conflict=True)
    except ValueError as err:
        form.text.errors = [str(err)]
        return _edit_page(seen, comment, form, status=422)
    flash("Comment saved.", "success")
    return redirect(url_for("tasks.detail", task_id=task_id, _anchor=f"comment-{comment_id}"))


def _edit_page(seen, comment, form, status: int = 200, preview=None, conflict: bool = False, deleting: bool = False):
    """The edit form (``conflict``: beside the comment as it is now; ``deleting``: a deletion that met a change)."""
    return render_template("comments/edit.html", task=seen.task, comment=comment, form=form, preview=preview,
                           conflict=conflict, deleting=deleting, board_id=seen.board_id,
                           link=lambda uid: member_link(seen.board_id, uid)), status


def member_link(board_id: str, user_id: str) -> str:
    """Where a mention of a member points: their row on the board's members page."""
    return url_for("boards.members", board_id=board_id, _anchor=f"member-{user_id}")


@bp.post("/tasks/<task_id>/comments/<comment_id>/delete")
@login_required
def delete(task_id: str, comment_id: str):
    """Its author (an editor or owner) or an owner of the board deletes a comment seen at its version."""
    if not valid_id(comment_id):
        abort(404)
    form = CommentDeleteForm()
    seen = access.task_access(current_user.id, task_id, "edit", board_hint=form.board.data or None, indexed=False,
                              also=lambda _: [comment_key(task_id, comment_id)], checks_session=True)
    comment, _ = store.load(seen.task, comment_id, seen.extra)
    if comment.author_id != current_user.id and not boards.allows(seen.role, "manage"):
        abort(403)
    if not form.validate_on_submit():
        abort(400)
    try:
        store.delete(seen.board_id, task_id, comment_id, form.version.data or "", read={**seen.reads, **seen.extra})
    except store.StaleComment as stale:
        return _edit_page(seen, stale.current, form, status=409, conflict=True, deleting=True)
    flash("Comment deleted.", "success")
    return redirect(url_for("tasks.detail", task_id=task_id, _anchor="comments"))
