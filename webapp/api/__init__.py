"""The JSON API (seed 004's operations) with bearer tokens, ETag / If-Match and an OpenAPI 3 document.

flask-smorest generates ``/api/v1/openapi.json`` from the schemas and views.
"""

from __future__ import annotations

from flask import Flask, abort, g, request, url_for
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

from ..auth import tokens
from ..boards import access
from ..boards.store import load_board
from ..errors import error_response
from ..tasks import listing, model, service, store
from ..tasks.fields import NAMES
from ..tasks.model import ListQuery, TaskFields
from .schemas import (ProblemSchema, StatusInSchema, TaskInSchema, TaskListQuerySchema, TaskListSchema,
                      TaskOutSchema)

class _Api(Api):
    ERROR_SCHEMA = ProblemSchema  # document the error body the app really sends


api = _Api()
blp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                   description="Tasks and boards of the token's owner: a task is reachable by members of its board")

API_CONFIG = {
    "API_TITLE": "Taskboard API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "info": {"description": "Create a personal access token on the Settings page and send it as "
                                "`Authorization: Bearer <token>`. Updates need `If-Match: \"<version>\"`."},
    },
}


def init_app(app: Flask, csrf) -> None:
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api.init_app(app)
    api.register_blueprint(blp)
    csrf.exempt(blp)  # bearer tokens, no cookies: nothing for a forged form to ride on


@blp.before_request
def authenticate():
    if request.endpoint == "api-docs.openapi_json":
        return None
    header = request.headers.get("Authorization", "")
    user = tokens.resolve(header[7:].strip()) if header[:7].lower() == "bearer " else None
    if user is None:
        abort(401, description="Send a valid personal access token as 'Authorization: Bearer <token>'.")
    g.api_user = user
    return None


def expected_version() -> str:
    """The version from If-Match (``*``: any current version, RFC 9110); 428 when absent."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        abort(428, description="Send If-Match with the task's ETag (its version) to change it.")
    if raw == "*":
        return store.ANY_VERSION
    return raw.removeprefix("W/").strip('"')


IF_MATCH = blp.doc(parameters=[{
    "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
    "description": "The task's ETag (its version) as last read, or `*` for whatever version is current; "
                   "409 if it changed since, 428 if absent."}])


def out(task: model.Task, status: int = 200, **headers):
    """The task with its version as ETag: it changes only when the task does."""
    return task, status, {"ETag": f'"{task.version}"', **headers}


def task_fields(data: dict) -> TaskFields:
    return TaskFields(**{name: data[name] for name in NAMES})


def not_assignable(data: dict, board_id: str):
    """The 422 answer if ``data`` assigns the task to someone not on the board (one read, only if assigned)."""
    assignee = data.get("assignee")
    if not assignee or access.is_member(load_board(board_id).value, assignee):
        return None
    return error_response(422, "The assignee must be a member of the task's board.",
                          {"json": {"assignee": ["Not a member of this board."]}})


ERRORS = {401: "Unauthorized", 403: "The caller's role on the board does not allow this (a viewer changing it)",
          404: "Not found (or on a board the caller is not a member of)", 409: "Version conflict",
          428: "If-Match missing",
          422: "Invalid input, or the list already holds the most tasks it can (MAX_TASKS_PER_USER; "
               "`errors.limit`): delete some to add more",
          503: "Storage unavailable, or too many writes at once (see Retry-After)"}


def document_errors(*codes):
    def wrap(fn):
        for code in codes:
            fn = blp.alt_response(code, schema=ProblemSchema, description=ERRORS[code])(fn)
        return fn
    return wrap


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
    return out(access.task_access(g.api_user.id, task_id).task)


@blp.route("/tasks/<task_id>", methods=["PUT"])
@blp.arguments(TaskInSchema)
@blp.response(200, TaskOutSchema)
@document_errors(401, 403, 404, 409, 422, 428, 503)
@IF_MATCH
def update_task(data, task_id):
    """Replace a task's fields (If-Match: its current version); the assignee must be on the task's board (422)."""
    seen = access.task_access(g.api_user.id, task_id, "edit")
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
    seen = access.task_access(g.api_user.id, task_id, "edit")
    return out(service.set_status(seen.board_id, task_id, expected_version(), data["status"],
                                   actor=g.api_user.id, read=seen.reads))


@blp.route("/tasks/<task_id>", methods=["DELETE"])
@blp.response(204)
@document_errors(401, 403, 404, 409, 428, 503)
@IF_MATCH
def delete_task(task_id):
    """Delete a task (If-Match: its current version)."""
    seen = access.task_access(g.api_user.id, task_id, "edit")
    service.delete(seen.board_id, task_id, expected_version(), actor=g.api_user.id, read=seen.reads)
    return "", 204


@blp.route("/tasks/<task_id>/restore", methods=["POST"])
@blp.response(200, TaskOutSchema)
@document_errors(401, 403, 404, 503)
def restore_task(task_id):
    """Undo a delete while the deleted task is still kept (a day after its deletion is out); 404 otherwise."""
    seen = access.task_access(g.api_user.id, task_id, "edit", deleted=True)
    return out(service.restore(seen.board_id, task_id, actor=g.api_user.id, read=seen.reads))


from . import boards  # noqa: E402,F401  (the board routes, on this blueprint)
from . import comments  # noqa: E402,F401  (the comment routes, on this blueprint)
