"""The API's boards and memberships: list my boards, a board's tasks and members, invite, change roles, leave.

A board's ETag is its version (it changes with every membership change); changes need ``If-Match``.
Someone who is not on a board gets 404 as for a missing one, a role that does not allow the request 403.
"""

from __future__ import annotations

from flask import abort, g, url_for

from ..auth import users
from ..boards import access, deletion, model, store
from ..boards.model import MembershipError
from ..tasks import listing, service
from ..tasks.model import ListQuery
from .common import IF_MATCH, blp, document_errors, expected_version, not_assignable, out, task_fields
from .schemas import (BoardInSchema, BoardListSchema, BoardOutSchema, MemberInSchema, MemberListSchema,
                      RoleInSchema, TaskInSchema, TaskListQuerySchema, TaskListSchema, TaskOutSchema)


def _members(board: dict) -> list[dict]:
    return [{"user_id": uid, "username": m["username"], "role": m["role"]}
            for uid, m in (board.get("members") or {}).items()]


def _board_out(board: dict, role: str, status: int = 200, **headers):
    body = {"id": board["id"], "name": board["name"], "role": role, "personal": bool(board.get("personal")),
            "version": str(board.get("revision")), "members": _members(board)}
    return body, status, {"ETag": f'"{board.get("revision")}"', **headers}


def _refused(err: MembershipError):
    abort(422, description=str(err))


@blp.route("/boards", methods=["GET"])
@blp.response(200, BoardListSchema)
@document_errors(401, 503)
def list_boards():
    """The boards the caller is on (their personal board first), with their role on each."""
    mine = store.memberships(g.api_user.id)
    return {"items": [{"id": board_id, "name": entry["name"], "role": entry["role"],
                       "personal": board_id == g.api_user.id} for board_id, entry in mine.items()]}


@blp.route("/boards", methods=["POST"])
@blp.arguments(BoardInSchema)
@blp.response(201, BoardOutSchema)
@document_errors(401, 422, 503)
def create_board(data):
    """Create a board; the caller is its owner."""
    try:
        board = store.create(g.api_user.id, g.api_user.username, data["name"])
    except MembershipError as err:
        _refused(err)
    return _board_out(board, "owner", 201, Location=url_for("api.get_board", board_id=board["id"]))


@blp.route("/boards/<board_id>", methods=["GET"])
@blp.response(200, BoardOutSchema)
@document_errors(401, 404, 503)
def get_board(board_id):
    """One board with its members; its ETag header is its version."""
    item, role = access.board_item(g.api_user.id, board_id)
    return _board_out(item.value, role)


@blp.route("/boards/<board_id>", methods=["DELETE"])
@blp.response(204)
@document_errors(401, 403, 404, 409, 422, 428, 503)
@IF_MATCH
def delete_board(board_id):
    """Delete a board without tasks (owners; If-Match: its version); 422 while it has tasks."""
    access.board_item(g.api_user.id, board_id, "manage", closing=True)  # repeated: finishes a stopped deletion
    try:
        deletion.delete(board_id, expected_version())
    except MembershipError as err:
        _refused(err)
    return "", 204


@blp.route("/boards/<board_id>/tasks", methods=["GET"])
@blp.arguments(TaskListQuerySchema, location="query")
@blp.response(200, TaskListSchema)
@document_errors(401, 404, 503)
def list_board_tasks(query, board_id):
    """The board's tasks, filtered, sorted and paged like the personal list."""
    access.board_role(g.api_user.id, board_id)
    page = listing.load_page(board_id, ListQuery(**query))
    return {"items": page.items, "total": page.total, "page": page.page, "pages": page.pages}


@blp.route("/boards/<board_id>/tasks", methods=["POST"])
@blp.arguments(TaskInSchema)
@blp.response(201, TaskOutSchema)
@document_errors(401, 403, 404, 422, 503)
def create_board_task(data, board_id):
    """Create a task on the board (owners and editors)."""
    access.board_role(g.api_user.id, board_id, "edit")
    refused = not_assignable(data, board_id)
    if refused:
        return refused
    task = service.create(g.api_user.id, task_fields(data), g.api_user.timezone, board_id=board_id)
    return out(task, 201, Location=url_for("api.get_task", task_id=task.id))


@blp.route("/boards/<board_id>/members", methods=["GET"])
@blp.response(200, MemberListSchema)
@document_errors(401, 404, 503)
def list_members(board_id):
    """The board's members and their roles; the ETag header is the board's version."""
    item, _ = access.board_item(g.api_user.id, board_id)
    version = str(item.value.get("revision"))
    return {"items": _members(item.value), "version": version}, 200, {"ETag": f'"{version}"'}


@blp.route("/boards/<board_id>/members", methods=["POST"])
@blp.arguments(MemberInSchema)
@blp.response(201, BoardOutSchema)
@document_errors(401, 403, 404, 409, 422, 428, 503)
@IF_MATCH
def add_member(data, board_id):
    """Invite an existing user by username, with a role (owners; If-Match: the board's version)."""
    _, role = access.board_item(g.api_user.id, board_id, "manage")
    version = expected_version()
    invitee = users.find(data["username"])
    if invitee is None:
        abort(422, description=f"No one has the username {data['username']!r}.")
    try:
        board = store.change_membership(board_id, invitee["id"], lambda b: model.with_member(
            b, invitee["id"], invitee["username"], data["role"]), version)
    except MembershipError as err:
        _refused(err)
    return _board_out(board, role, 201)


@blp.route("/boards/<board_id>/members/<user_id>", methods=["PUT"])
@blp.arguments(RoleInSchema)
@blp.response(200, BoardOutSchema)
@document_errors(401, 403, 404, 409, 422, 428, 503)
@IF_MATCH
def set_member_role(data, board_id, user_id):
    """Change a member's role (owners; If-Match: the board's version); 422 for the last owner stepping down."""
    access.board_item(g.api_user.id, board_id, "manage")
    try:
        board = store.change_membership(board_id, user_id, lambda b: model.with_role(b, user_id, data["role"]),
                                        expected_version())
    except MembershipError as err:
        _refused(err)
    return _board_out(board, model.role_of(board, g.api_user.id) or "viewer")


@blp.route("/boards/<board_id>/members/<user_id>", methods=["DELETE"])
@blp.response(204)
@document_errors(401, 403, 404, 409, 422, 428, 503)
@IF_MATCH
def remove_member(board_id, user_id):
    """Remove a member (owners), or leave (the caller's own id); 422 for the last owner."""
    access.board_item(g.api_user.id, board_id, "view" if user_id == g.api_user.id else "manage")
    try:
        store.change_membership(board_id, user_id, lambda b: model.without_member(b, user_id), expected_version())
    except MembershipError as err:
        _refused(err)
    return "", 204
