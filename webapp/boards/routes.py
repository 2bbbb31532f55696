"""Board pages: my boards, a board's columns, its members. Views: check the role → call the store → redirect."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import notifications
from ..auth import users
from ..errors import error_response
from ..keys import board_key
from ..sidecar import gateway
from ..tasks import listing
from ..tasks.service import utcnow
from . import access, deletion, feed, model, store
from .forms import BoardActionForm, BoardForm, InviteForm, RoleForm
from .model import MembershipError, NotAllowed

bp = Blueprint("boards", __name__)


@bp.app_errorhandler(NotAllowed)
def not_allowed(err):
    return error_response(403, "Your role on this board does not allow that: ask one of its owners.")


@bp.get("/boards")
@login_required
def index():
    if not store.has_personal_records(current_user.id):
        store.ensure_personal(current_user.id, current_user.username)  # lazily, once: the migration's step
    return _index_page(BoardForm(formdata=None))


def _index_page(form: BoardForm, status: int = 200):
    mine = store.memberships(current_user.id)
    records = dict(zip(mine, gateway().get_many([board_key(b) for b in mine])))
    boards = [{"id": it.value["id"], "name": it.value["name"], "role": mine[it.value["id"]]["role"],
               "members": len(it.value.get("members") or {}), "personal": it.value.get("personal", False)}
              for it in records.values() if it.exists and model.is_open(it.value)]  # being deleted: left out
    gone = [b for b, it in records.items() if b != current_user.id and (not it.exists or it.value.get("deleted"))]
    if gone:
        store.forget_gone(current_user.id, gone)  # a deletion that stopped half-way: its entries go now
    return render_template("boards/index.html", boards=boards, form=form), status


@bp.post("/boards")
@login_required
def create():
    form = BoardForm()
    if not form.validate_on_submit():
        return _index_page(form, 422)
    try:
        board = store.create(current_user.id, current_user.username, form.name.data)
    except MembershipError as err:
        form.name.errors.append(str(err))
        return _index_page(form, 422)
    flash(f"Created the board “{board['name']}”. Invite people from its Members page.", "success")
    return redirect(url_for("boards.board", board_id=board["id"]))


@bp.get("/boards/<board_id>")
@login_required
def board(board_id: str):
    read = access.read_board(current_user.id, board_id)
    notifications.badge_from(current_user.id, read.inbox_head)
    cards = listing.summaries(board_id, read.index)  # the index's rows: no task is read
    return render_template("boards/board.html", board=read.board, role=read.role,
                           can_edit=model.allows(read.role, "edit"), columns=model.columns(cards),
                           moves=model.MOVES, now=utcnow(), seq=feed.seq_of(read.feed),
                           activity=[{**e, "at": datetime.fromisoformat(e["at"])} for e in feed.entries(read.feed)])


@bp.get("/boards/<board_id>/changes")
@login_required
def changes(board_id: str):
    """The board's change counter and recent changes for its open pages' polls: 304 while unchanged.

    One read (membership, feed and the session's generation together); no worker is held between polls
    (static/changes.js).
    """
    item = access.board_changes(current_user.id, board_id, checks_session=True)
    seq = feed.seq_of(item)
    etag = f"{board_id}.{seq}"
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = jsonify(seq=seq, items=[{k: e.get(k) for k in ("seq", "task_id", "actor_id", "actor", "what", "at")}
                                           for e in feed.entries(item)])
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/boards/<board_id>/members")
@login_required
def members(board_id: str):
    item, role = access.board_item(current_user.id, board_id)
    return _members_page(item.value, role)


def _members_page(board: dict, role: str, invite: InviteForm | None = None, error: str = "", status: int = 200):
    invite = invite or InviteForm(formdata=None, version=board.get("revision"))
    people = sorted(((uid, m) for uid, m in (board.get("members") or {}).items()),
                    key=lambda pair: (-model.RANK[pair[1]["role"]], pair[1]["username"].lower()))
    return render_template("boards/members.html", board=board, role=role, people=people, invite=invite,
                           role_form=RoleForm(formdata=None), action_form=BoardActionForm(formdata=None),
                           can_manage=model.allows(role, "manage"), error=error), status


def _version() -> str | None:
    return request.form.get("version") or None


@bp.post("/boards/<board_id>/members")
@login_required
def invite(board_id: str):
    item, role = access.board_item(current_user.id, board_id, "manage")
    form = InviteForm()
    if not form.validate_on_submit():
        return _members_page(item.value, role, form, status=422)
    invitee = users.find(form.username.data.strip())
    if invitee is None:
        form.username.errors.append("No one has this username.")
        return _members_page(item.value, role, form, status=422)
    try:
        store.change_membership(board_id, invitee["id"], lambda b: model.with_member(
            b, invitee["id"], invitee["username"], form.role.data), _version())
    except MembershipError as err:
        form.username.errors.append(str(err))
        return _members_page(store.load_board(board_id).value, role, form, status=422)
    flash(f"{invitee['username']} is now {form.role.data} of this board.", "success")
    return redirect(url_for("boards.members", board_id=board_id))


def _membership_change(board_id: str, user_id: str, change, done: str, need: str = "manage", to: str = ""):
    """Run a membership change from a form; a refused one re-renders the members page (422)."""
    item, role = access.board_item(current_user.id, board_id, need)
    if not BoardActionForm().validate_on_submit():
        abort(400)
    try:
        store.change_membership(board_id, user_id, change, _version())
    except MembershipError as err:
        return _members_page(store.load_board(board_id).value, role, error=str(err), status=422)
    flash(done, "success")
    return redirect(to or url_for("boards.members", board_id=board_id))


@bp.post("/boards/<board_id>/members/<user_id>/role")
@login_required
def change_role(board_id: str, user_id: str):
    new_role = request.form.get("role", "")
    return _membership_change(board_id, user_id, lambda b: model.with_role(b, user_id, new_role),
                              f"Role changed to {new_role}.")


@bp.post("/boards/<board_id>/members/<user_id>/remove")
@login_required
def remove(board_id: str, user_id: str):
    return _membership_change(board_id, user_id, lambda b: model.without_member(b, user_id), "Member removed.")


@bp.post("/boards/<board_id>/leave")
@login_required
def leave(board_id: str):
    me = current_user.id
    return _membership_change(board_id, me, lambda b: model.without_member(b, me), "You left the board.",
                              need="view", to=url_for("boards.index"))


@bp.post("/boards/<board_id>/delete")
@login_required
def delete(board_id: str):
    item, role = access.board_item(current_user.id, board_id, "manage", closing=True)
    if not BoardActionForm().validate_on_submit():
        abort(400)
    try:
        deletion.delete(board_id, _version())
    except MembershipError as err:
        return _members_page(item.value, role, error=str(err), status=422)
    flash(f"Deleted the board “{item.value['name']}”.", "success")
    return redirect(url_for("boards.index"))
