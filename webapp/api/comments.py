"""The API's comments on a task: list them a page at a time, add one, change or delete one.

Members of the task's board read them; editors and owners comment; an author changes and deletes their own,
an owner deletes any. A comment's ETag is its version; a change needs ``If-Match`` (409 if it changed since).
"""

from __future__ import annotations

from flask import abort, g
from marshmallow import Schema, fields, validate

from ..boards import access
from ..boards import model as boards
from ..comments import service as store
from ..comments.model import TEXT_MAX, CommentsFull, valid_id
from ..errors import error_response
from ..keys import board_key, comment_key
from .common import IF_MATCH, blp, document_errors, expected_version
from .schemas import NOT_BLANK, not_blank


class CommentInSchema(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=TEXT_MAX), not_blank("Write a comment.")],
                         metadata={"pattern": NOT_BLANK,
                                   "description": "Markdown; `@username` mentions a member of the task's board"})


class CommentOutSchema(Schema):
    id = fields.String()
    author_id = fields.String()
    author = fields.String()
    text = fields.String(metadata={"description": "As written (Markdown)"})
    html = fields.String(metadata={"description": "Rendered and sanitised"})
    mentions = fields.List(fields.String(), metadata={"description": "User ids of the members it mentions"})
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True, metadata={"description": "When it was last edited, if it was"})
    version = fields.String()


class CommentListSchema(Schema):
    items = fields.List(fields.Nested(CommentOutSchema), metadata={"description": "Newest first"})
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class CommentPageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))


def _members(seen: access.TaskAccess) -> dict:
    if seen.board_id == g.api_user.id:
        return {g.api_user.id: {"username": g.api_user.username, "role": "owner"}}
    return (seen.extra[board_key(seen.board_id)].value or {}).get("members") or {}


def _out(comment, status: int = 200):
    body = {"id": comment.id, "author_id": comment.author_id, "author": comment.author, "text": comment.text,
            "html": str(comment.html(lambda uid: None)), "mentions": sorted(set(comment.mentions.values())),
            "created_at": comment.created_at, "edited_at": comment.edited_at, "version": comment.version}
    return body, status, {"ETag": f'"{comment.version}"'}


@blp.route("/tasks/<task_id>/comments", methods=["GET"])
@blp.arguments(CommentPageQuerySchema, location="query")
@blp.response(200, CommentListSchema)
@document_errors(401, 404, 503)
def list_comments(query, task_id):
    """A page of a task's comments, newest first (20 a page)."""
    seen = access.task_access(g.api_user.id, task_id, known=g.api_reads)
    comments, page = store.read_page(seen.task, query["page"])
    return {"items": [_out(c)[0] for c in comments], "total": page.total, "page": page.number,
            "pages": page.pages}


@blp.route("/tasks/<task_id>/comments", methods=["POST"])
@blp.arguments(CommentInSchema)
@blp.response(201, CommentOutSchema)
@document_errors(401, 403, 404, 422, 503)
def add_comment(data, task_id):
    """Comment on a task (editors and owners); each member it `@mentions` is notified."""
    seen = access.task_access(g.api_user.id, task_id, "edit", indexed=False, known=g.api_reads)
    try:
        comment = store.add(seen.board_id, task_id, g.api_user.id, g.api_user.username, data["text"],
                            _members(seen), read=seen.reads)
    except (CommentsFull, ValueError) as err:
        return error_response(422, str(err), {"json": {"text": [str(err)]}})
    return _out(comment, 201)


def _comment_access(task_id: str, comment_id: str):
    if not valid_id(comment_id):
        abort(404)
    seen = access.task_access(g.api_user.id, task_id, "edit", indexed=False,
                              also=lambda _: [comment_key(task_id, comment_id)], known=g.api_reads)
    comment, _ = store.load(seen.task, comment_id, seen.extra)
    return seen, comment


@blp.route("/tasks/<task_id>/comments/<comment_id>", methods=["PUT"])
@blp.arguments(CommentInSchema)
@blp.response(200, CommentOutSchema)
@document_errors(401, 403, 404, 409, 422, 428, 503)
@IF_MATCH
def edit_comment(data, task_id, comment_id):
    """Change your own comment's text (If-Match: its version); it is marked edited."""
    seen, comment = _comment_access(task_id, comment_id)
    if comment.author_id != g.api_user.id:
        abort(403, description="Only its author changes a comment.")
    version = expected_version()
    try:
        return _out(store.edit(seen.task, comment_id, version, data["text"], _members(seen), read=seen.extra))
    except store.StaleComment:
        abort(409, description="The comment changed since that version.")
    except ValueError as err:
        return error_response(422, str(err), {"json": {"text": [str(err)]}})


@blp.route("/tasks/<task_id>/comments/<comment_id>", methods=["DELETE"])
@blp.response(204)
@document_errors(401, 403, 404, 409, 428, 503)
@IF_MATCH
def delete_comment(task_id, comment_id):
    """Delete your own comment, or any as an owner of the board (If-Match: its version)."""
    seen, comment = _comment_access(task_id, comment_id)
    if comment.author_id != g.api_user.id and not boards.allows(seen.role, "manage"):
        abort(403, description="Only its author or an owner of the board deletes a comment.")
    try:
        store.delete(seen.board_id, task_id, comment_id, expected_version(), read={**seen.reads, **seen.extra})
    except store.StaleComment:
        abort(409, description="The comment changed since that version.")
    return "", 204
