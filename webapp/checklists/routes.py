"""Checklist views: check the role → validate → re-apply the change on the task as it is now → redirect.

A change to an item merges with whatever others did to the rest of the checklist meanwhile (two people
ticking different items both win); one made from an item someone else changed since gets the conflict page.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..boards import access
from ..errors import TaskLimitReached
from ..tasks import checklist, service
from ..boards.task_routes import task_page
from .forms import AddItemForm, ItemForm

bp = Blueprint("checklists", __name__)
DONE = {"tick": "Ticked", "untick": "Unticked", "rename": "Renamed", "up": "Moved up", "down": "Moved down",
        "remove": "Removed"}


def _seen(task_id: str, form) -> access.TaskAccess:
    # The task, memberships, the board the page showed and its index (for the row): one read.
    return access.task_access(current_user.id, task_id, "edit", board_hint=form.board.data or None,
                              checks_session=True)


@bp.post("/tasks/<task_id>/checklist")
@login_required
def add(task_id: str):
    """A new item at the end of the task's checklist (at most ``checklist.ITEMS_MAX``)."""
    form = AddItemForm()
    seen = _seen(task_id, form)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return task_page(task_id, status=422, checklist_form=form)
    try:
        service.change_checklist(seen.board_id, task_id, lambda items: checklist.added(items, form.text.data),
                                 actor=current_user.id, read=seen.reads)
    except (ValueError, TaskLimitReached) as err:  # the checklist (or the board's list) is full
        form.text.errors = [*form.text.errors, str(err)]
        return task_page(task_id, status=422, checklist_form=form)
    flash(f"Added “{form.text.data.strip()}”.", "success")
    return redirect(url_for("tasks.detail", task_id=task_id, _anchor="checklist"))


@bp.post("/tasks/<task_id>/checklist/<item_id>")
@login_required
def change(task_id: str, item_id: str):
    """Tick, untick, rename, move up or down, or remove one item, as the page showed it."""
    form = ItemForm()
    seen = _seen(task_id, form)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return task_page(task_id, status=422, checklist_error=(item_id, _first_error(form)))
    op = form.op.data
    try:
        service.change_checklist(seen.board_id, task_id,
                                 lambda items: checklist.changed(items, item_id, op, form.seen.data, form.text.data),
                                 actor=current_user.id, read=seen.reads)
    except checklist.ItemChanged as err:
        return conflict_page(task_id, op, err, form.text.data)
    except (ValueError, TaskLimitReached) as err:
        return task_page(task_id, status=422, checklist_error=(item_id, str(err)))
    flash(f"{DONE[op]} an item.", "success")
    return redirect(url_for("tasks.detail", task_id=task_id, _anchor="checklist"))


def _first_error(form) -> str:
    return next((message for messages in form.errors.values() for message in messages), "Invalid change.")


def conflict_page(task_id: str, op: str, changed: checklist.ItemChanged, text: str):
    """409: the item as it is now beside what the person tried; nothing was changed."""
    seen = access.task_access(current_user.id, task_id)
    return render_template("checklists/conflict.html", task=seen.task, op=op, current=changed.current,
                           item_id=changed.item_id, text=text, board_id=seen.board_id,
                           form=ItemForm(formdata=None)), 409
