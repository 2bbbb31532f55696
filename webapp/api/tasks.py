"""The API's task routes (seed 004's operations) on the shared blueprint."""

from __future__ import annotations

from flask import g, url_for

from ..boards import access
from ..tasks import listing, service
from ..tasks.model import ListQuery
from .common import IF_MATCH, blp, document_errors, expected_version, not_assignable, out, task_fields
from .schemas import StatusInSchema, TaskInSchema, TaskListQuerySchema, TaskListSchema, TaskOutSchema


@blp.route("/tasks", methods=["POST"])
@blp.arguments(TaskInSchema)
@blp.response(201, TaskOutSchema)
@document_errors(401, 422, 503)
def create_task(data):
    """Create a task on the caller's personal board."""
    refused = not_assignable(data, g.api_user.id)
    if refused:
        return refused
    task = service.create(g.api_user.id, task_fields(data), g.api_user.timezone)
    return out(task, 201, Location=url_for("api.get_task", task_id=task.id))


@blp.route("/tasks", methods=["GET"])
@blp.arguments(TaskListQuerySchema, location="query")
@blp.response(200, TaskListSchema)
@document_errors(401, 503)
def list_tasks(query):
    """List the tasks of the caller's personal board: filter by status, priority, tag; search; sort; paginate."""
    page = listing.load_page(g.api_user.id, ListQuery(**query))
    return {"items": page.items, "total": page.total, "page": page.page, "pages": page.pages}


@blp.route("/tasks/<task_id>", methods=["GET"])
@blp.response(200, TaskOutSchema)
@document_errors(401, 404, 503)
def get_task(task_id):
    """One task of a board the caller is on; its ETag header is its version."""
    return out(access.task_access(g.api_user.id, task_id, known=g.api_reads).task)


@blp.route("/tasks/<task_id>", methods=["PUT"])
@blp.arguments(TaskInSchema)
@blp.response(200, TaskOutSchema)
@document_errors(401, 403, 404, 409, 422, 428, 503)
@IF_MATCH
def update_task(data, task_id):
    """Replace a task's fields (If-Match: its current version); the assignee must be on the task's board (422)."""
    seen = access.task_access(g.api_user.id, task_id, "edit", known=g.api_reads)
    version = expected_version()
    refused = not_assignable(data, seen.board_id)
    if refused:
        return refused
    return out(service.update(seen.board_id, task_id, version, task_fields(data), g.api_user.timezone,
                               actor=g.api_user.id, read=seen.reads))


@blp.route("/tasks/<task_id>/status", methods=["PUT"])
@blp.arguments(StatusInSchema)
@blp.response(200, TaskOutSchema)
@document_errors(401, 403, 404, 409, 428, 503)
@IF_MATCH
def update_status(data, task_id):
    """Change only the status, e.g. move a card (If-Match: its current version)."""
    seen = access.task_access(g.api_user.id, task_id, "edit", known=g.api_reads)
    return out(service.set_status(seen.board_id, task_id, expected_version(), data["status"],
                                   actor=g.api_user.id, read=seen.reads))


@blp.route("/tasks/<task_id>", methods=["DELETE"])
@blp.response(204)
@document_errors(401, 403, 404, 409, 428, 503)
@IF_MATCH
def delete_task(task_id):
    """Delete a task (If-Match: its current version)."""
    seen = access.task_access(g.api_user.id, task_id, "edit", known=g.api_reads)
    service.delete(seen.board_id, task_id, expected_version(), actor=g.api_user.id, read=seen.reads)
    return "", 204


@blp.route("/tasks/<task_id>/restore", methods=["POST"])
@blp.response(200, TaskOutSchema)
@document_errors(401, 403, 404, 503)
def restore_task(task_id):
    """Undo a delete while the deleted task is still kept (a day after its deletion is out); 404 otherwise."""
    seen = access.task_access(g.api_user.id, task_id, "edit", deleted=True, known=g.api_reads)
    return out(service.restore(seen.board_id, task_id, actor=g.api_user.id, read=seen.reads))
