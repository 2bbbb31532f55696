"""Task views: validate → call the service → flash → redirect."""

from __future__ import annotations

import json

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_required

from .. import activity, markdown, notifications
from ..accounts import sessions
from ..auth import users
from ..checklists.forms import AddItemForm
from ..comments import service as comment_store
from ..comments.forms import CommentForm
from ..dapr_gateway import Conflict
from ..errors import TaskLimitReached
from ..keys import board_key, feed_key, history_key, inbox_key, memberships_key, user_key, watchers_key
from ..security import safe_redirect_target
from ..tasks import listing, service
from ..tasks.fields import FIELDS
from ..tasks.forms import ActionForm, TaskForm, list_filters
from ..tasks.model import InvalidTransition, ListQuery
from . import access, feed, followers
from . import model as boards
from .forms import MoveForm
from .store import load_board

bp = Blueprint("tasks", __name__)


@bp.app_context_processor
def task_fields():
    # The detail, conflict and list pages show the declared fields, whichever blueprint renders them (a comment's
    # preview or a refused checklist item renders the task page again).
    return {"task_fields": FIELDS}


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("tasks.list_tasks"))
    return redirect(url_for("auth.login"))


@bp.get("/tasks")
@login_required
def list_tasks():
    form, valid = list_filters(request.args)
    if not valid:
        flash("Some filters were not understood and were ignored.", "warning")
    query = ListQuery(
        status=form.status.data if valid and form.status.data else "",
        priority=form.priority.data if valid and form.priority.data else "",
        tag=(form.tag.data or "").strip().lower() if valid else "",
        q=(form.q.data or "") if valid else "",
        sort=form.sort.data if valid and form.sort.data else "updated",
        page=form.page.data if valid and form.page.data else 1,
        per_page=int(current_app.config["TASKS_PER_PAGE"]),
    )
    board = request.args.get("board") or None  # another board's list (its members'); none: the personal one
    user_id = current_user.id
    shared = bool(board) and board != user_id
    # One sidecar call without search: the index (its rows are what the page shows), the inbox head for the
    # badge and, for a shared board, the caller's memberships (access) and the board (assignees' names).
    index, (head, account, *records) = listing.read_index(board or user_id, also=[
        inbox_key(user_id), user_key(user_id), *([memberships_key(user_id), board_key(board)] if shared else [])])
    sessions.check_read(user_id, account)  # the session's generation, read with the page's data (no extra call)
    notifications.badge_from(user_id, head)  # first: a 404 page shows the badge too
    # Access before any document of the board is read (a search reads them all, a row rebuild some).
    entry = access.membership(user_id, board or user_id, records=(records[0], records[1]) if shared else None)
    page = listing.rows_page(board or user_id, index, query)
    names = member_names(records[1].value or {}) if shared else {user_id: current_user.username}
    return render_template("tasks/list.html", page=page, form=form, query=query, board=board,
                           board_name=entry["name"], can_edit=boards.allows(entry["role"], "edit"),
                           member_names=names, now=service.utcnow(),
                           undo=session.pop(UNDO, None), pager_args=pager_args(request.args))


def pager_args(args) -> dict[str, str]:
    """The query a pager link keeps: every parameter but those ``url_for`` reserves (``_method``, ``_external``…)."""
    return {name: value for name, value in args.items() if not name.startswith("_")}


@bp.route("/tasks/new", methods=["GET", "POST"])
@login_required
def new_task():
    """A new task on the personal board, or on ``?board=<id>`` for its editors."""
    board_id = request.args.get("board") or current_user.id
    access.board_role(current_user.id, board_id, "edit")  # 404 for a board the user is not on, 403 for a viewer
    form = TaskForm(tz=current_user.timezone)
    # A personal board's only member is its owner: its record is not read for the choice of assignee.
    form.offer_members(boards.personal_board(current_user.id, current_user.username, service.utcnow())
                       if board_id == current_user.id else load_board(board_id).value)
    valid = form.validate_on_submit()
    if valid and _previewing():  # the description rendered as it will show; nothing stored
        return render_template("tasks/form.html", form=form, task=None, board_id=board_id,
                               preview=markdown.render(form.description.data))
    if valid:
        try:
            task = service.create(current_user.id, form.task_fields(), current_user.timezone,
                                  board_id=board_id)
        except TaskLimitReached as err:  # the form stays filled in: delete some tasks, then submit again
            form.form_errors.append(str(err))
            return render_template("tasks/form.html", form=form, task=None, board_id=board_id), 422
        flash(f"Created “{task.title}”.", "success")
        return redirect(url_for("tasks.detail", task_id=task.id))
    status = 422 if form.is_submitted() else 200
    return render_template("tasks/form.html", form=form, task=None, board_id=board_id), status


@bp.get("/tasks/<task_id>")
@login_required
def detail(task_id: str):
    return task_page(task_id)


def task_page(task_id: str, status: int = 200, comment_form=None, preview=None, checklist_form=None,
              checklist_error: tuple[str, str] | None = None):
    """The task page: the task, its checklist, a page of its comments (``?comments=<n>``) and its history.

    ``comment_form``/``checklist_form``: a submitted form shown again (with its errors, or a ``preview`` of
    the comment); ``checklist_error``: (item id, message) of a refused change to one item.
    """
    # The board record, watchers, the board's change counter and history (and, for a personal board without a
    # record yet, its owner's account, which answers for it): one read besides the access check's; one more, a
    # bulk read, for the page of comments if there are any.
    seen = access.task_access(current_user.id, task_id, also=lambda board_id: [
        board_key(board_id), watchers_key(task_id), feed_key(board_id), history_key(task_id),
        *([user_key(board_id)] if board_id == current_user.id else [])])
    task = seen.task
    board, watching, changes, history = (seen.extra[key] for key in (
        board_key(seen.board_id), watchers_key(task.id), feed_key(seen.board_id),
        history_key(task.id)))
    board = load_board(seen.board_id, board, owner=seen.extra.get(user_key(seen.board_id))).value
    comments, comment_page = comment_store.read_page(task, request.args.get("comments", 1, type=int))
    can_manage = boards.allows(seen.role, "manage")
    creator = creator_name(board, task.owner)
    entries = activity.history_of(task.owner, (history.value or {}).get("items") or [])
    if creator == DELETED_USER:
        entries = [{**e, "actor": DELETED_USER} if e.get("actor_id") == task.owner else e for e in entries]
    return render_template("tasks/detail.html", task=task, can_edit=seen.can_edit,
                           board_id=seen.board_id, can_manage=can_manage, creator=creator,
                           history=entries,
                           now=service.utcnow(), member_names=member_names(board), seq=feed.seq_of(changes),
                           watching=current_user.id in followers.watchers(watching, task.owner),
                           comments=comments, comment_page=comment_page, preview=preview,
                           # Forms not submitted are empty: a posted comment's text is not a new item's.
                           comment_form=comment_form or CommentForm(formdata=None, board=seen.board_id),
                           checklist_form=checklist_form or AddItemForm(formdata=None, board=seen.board_id,
                                                                        version=task.version),
                           checklist_error=checklist_error,
                           member_link=lambda uid: url_for("boards.members", board_id=seen.board_id,
                                                           _anchor=f"member-{uid}")), status


DELETED_USER = "a deleted user"


def creator_name(board: dict, owner: str) -> str:
    """Who made a task: a member's username; else "a former member", or "a deleted user" (one more read)."""
    name = member_names(board).get(owner)
    if name:
        return name
    return "a former member" if users.load(owner) is not None else DELETED_USER


def member_names(board: dict) -> dict[str, str]:
    """{user id: username} of the board's members (how pages name an assignee)."""
    return {uid: m.get("username") or uid for uid, m in (board.get("members") or {}).items()}


@bp.post("/tasks/<task_id>/watch")
@login_required
def watch(task_id: str):
    """Start (watch=1) or stop watching a task: its watchers hear of changes they did not make."""
    seen = access.task_access(current_user.id, task_id)  # viewers may watch what they can read
    if not ActionForm().validate_on_submit():
        abort(400)
    on = request.form.get("watch") == "1"
    followers.set_watching(task_id, seen.task.owner, current_user.id, on)
    flash(f"{'Watching' if on else 'Stopped watching'} “{seen.task.title}”.", "success")
    return redirect(url_for("tasks.detail", task_id=task_id))


@bp.route("/tasks/<task_id>/edit", methods=["GET", "POST"])
@login_required
def edit(task_id: str):
    seen = access.task_access(current_user.id, task_id, "edit")
    task = seen.task
    form = TaskForm(tz=current_user.timezone)
    board = load_board(seen.board_id).value
    form.offer_members(board)
    if request.method == "GET":
        form.fill(task)
        return render_template("tasks/form.html", form=form, task=task)
    if not form.validate_on_submit():
        return render_template("tasks/form.html", form=form, task=task), 422
    if _previewing():  # the description rendered as it will show; nothing stored
        return render_template("tasks/form.html", form=form, task=task, preview=markdown.render(form.description.data))
    try:
        service.update(seen.board_id, task_id, form.version.data, form.task_fields(editing=task),
                       current_user.timezone, actor=current_user.id, read=seen.reads)
    except Conflict:
        return conflict_page("edit", task_id, attempted=form)
    except TaskLimitReached as err:  # the list has no room for longer titles or tags: the form stays filled in
        form.form_errors.append(str(err))
        return render_template("tasks/form.html", form=form, task=task), 422
    flash("Saved.", "success")
    return redirect(url_for("tasks.detail", task_id=task_id))


def conflict_page(action: str, task_id: str, attempted: TaskForm | None = None, move_to: str = ""):
    """409: the task as it is now beside what the user tried; nothing was overwritten.

    The re-apply form holds the current version with only the fields the user
    changed put back on top, so re-applying never undoes the other person's edits.
    """
    seen = access.task_access(current_user.id, task_id)  # NotFound if deleted (or access lost) meanwhile
    current, board = seen.task, load_board(seen.board_id).value
    retry_form, differs = None, set()
    if attempted is not None:
        try:
            original = json.loads(attempted.original.data or "{}")
        except ValueError:
            original = {}
        mine = attempted.snapshot()
        changed = {n for n in TaskForm.EDITABLE if n not in original or mine[n] != original[n]}
        retry_form = TaskForm(formdata=None, tz=current_user.timezone)
        retry_form.offer_members(board)
        retry_form.fill(current)
        now = retry_form.snapshot()
        for name in changed:
            if mine[name]:
                retry_form[name].process_formdata([mine[name]])
            else:
                retry_form.clear(name)
        differs = {n for n in changed if mine[n] != now[n]}
    return render_template("tasks/conflict.html", action=action, current=current, attempted=attempted,
                           retry_form=retry_form, differs=differs, move_to=move_to,
                           member_names=member_names(board)), 409


UNDO = "undo_delete"  # session key: the task just deleted, offered for undo on the next list page


def _transition(action: str, task_id: str, apply, done_message: str):
    seen = access.task_access(current_user.id, task_id, "edit")
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        task = apply(seen.board_id, task_id, form.version.data, actor=current_user.id, read=seen.reads)
    except Conflict:
        return conflict_page(action, task_id)
    except InvalidTransition as err:
        flash(str(err), "warning")
        return redirect(url_for("tasks.detail", task_id=task_id))
    message = done_message.format(title=task.title)
    if action == "delete" and seen.board_id != current_user.id:  # a shared board's task: back to its board
        flash(message, "success")
        return redirect(url_for("boards.board", board_id=seen.board_id))
    if action == "delete":
        session[UNDO] = {"id": task.id, "message": message}  # the list shows it with an Undo button
        return redirect(url_for("tasks.list_tasks"))
    flash(message, "success")
    return redirect(_next_url() or url_for("tasks.detail", task_id=task_id))


def _previewing() -> bool:
    return request.form.get("preview") == "1"


def _next_url() -> str | None:
    return safe_redirect_target(request.form.get("next"))  # only local paths: never an open redirect


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str):
    return _transition("complete", task_id, service.complete, "Completed “{title}”.")


@bp.post("/tasks/<task_id>/reopen")
@login_required
def reopen(task_id: str):
    return _transition("reopen", task_id, service.reopen, "Reopened “{title}”.")


@bp.post("/tasks/<task_id>/delete")
@login_required
def delete(task_id: str):
    return _transition("delete", task_id, service.delete, "Deleted “{title}”.")


@bp.post("/tasks/<task_id>/restore")
@login_required
def restore(task_id: str):
    """Undo a delete (the Undo button of the list's "Deleted …" message); 404 once it cannot be undone."""
    seen = access.task_access(current_user.id, task_id, "edit", deleted=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    task = service.restore(seen.board_id, task_id, actor=current_user.id, read=seen.reads)
    flash(f"Restored “{task.title}”.", "success")
    return redirect(url_for("tasks.list_tasks"))


@bp.post("/tasks/<task_id>/move")
@login_required
def move(task_id: str):
    """Move a card to another column of its board: a status change at the card's version (409 if stale)."""
    seen = access.task_access(current_user.id, task_id, "edit")
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        task = service.set_status(seen.board_id, task_id, form.version.data, form.status.data,
                                  actor=current_user.id, read=seen.reads)
    except Conflict:
        return conflict_page("move", task_id, move_to=form.status.data)
    flash(f"Moved “{task.title}” to {dict(form.status.choices)[task.status]}.", "success")
    return redirect(_next_url() or url_for("boards.board", board_id=seen.board_id))
