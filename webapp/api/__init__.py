"""The JSON API (seed 004's operations) with bearer tokens, ETag / If-Match and an OpenAPI 3 document.

flask-smorest generates ``/api/v1/openapi.json`` from the schemas and views.
"""

from __future__ import annotations

from flask import Flask, abort, g, request, url_for
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

from ..auth import tokens
from ..tasks import listing, model, service, store
from ..tasks.fields import NAMES
from ..tasks.model import ListQuery, TaskFields
from .schemas import (ProblemSchema, StatusInSchema, TaskInSchema, TaskListQuerySchema, TaskListSchema,
                      TaskOutSchema)

class _Api(Api):
    ERROR_SCHEMA = ProblemSchema  # document the error body the app really sends


api = _Api()
blp = ApiBlueprint("api", __name__, url_prefix="/api/v1", description="Tasks of the token's owner")

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


def _expected_version() -> str:
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


def _out(task: model.Task, status: int = 200, **headers):
    """The task with its version as ETag: it changes only when the task does."""
    return task, status, {"ETag": f'"{task.version}"', **headers}


def _fields(data: dict) -> TaskFields:
    return TaskFields(**{name: data[name] for name in NAMES})


ERRORS = {401: "Unauthorized", 404: "Not found", 409: "Version conflict", 428: "If-Match missing",
          422: "Invalid input, or the list already holds the most tasks it can (MAX_TASKS_PER_USER; "
               "`errors.limit`): delete some to add more",
          503: "Storage unavailable, or too many writes at once (see Retry-After)"}


def _document_errors(*codes):
    def wrap(fn):
        for code in codes:
            fn = blp.alt_response(code, schema=ProblemSchema, description=ERRORS[code])(fn)
        return fn
    return wrap


@blp.route("/tasks", methods=["POST"])
@blp.arguments(TaskInSchema)
@blp.response(201, TaskOutSchema)
@_document_errors(401, 422, 503)
def create_task(data):
    """Create a task."""
    task = service.create(g.api_user.id, _fields(data), g.api_user.timezone)
    return _out(task, 201, Location=url_for("api.get_task", task_id=task.id))


@blp.route("/tasks", methods=["GET"])
@blp.arguments(TaskListQuerySchema, location="query")
@blp.response(200, TaskListSchema)
@_document_errors(401, 503)
def list_tasks(query):
    """List the caller's tasks: filter by status, priority, tag; search; sort; paginate."""
    page = listing.load_page(g.api_user.id, ListQuery(**query))
    return {"items": page.items, "total": page.total, "page": page.page, "pages": page.pages}


@blp.route("/tasks/<task_id>", methods=["GET"])
@blp.response(200, TaskOutSchema)
@_document_errors(401, 404, 503)
def get_task(task_id):
    """One task; its ETag header is its version."""
    return _out(store.load(g.api_user.id, task_id))


@blp.route("/tasks/<task_id>", methods=["PUT"])
@blp.arguments(TaskInSchema)
@blp.response(200, TaskOutSchema)
@_document_errors(401, 404, 409, 428, 503)
@IF_MATCH
def update_task(data, task_id):
    """Replace a task's fields (If-Match: its current version)."""
    version = _expected_version()
    return _out(service.update(g.api_user.id, task_id, version, _fields(data), g.api_user.timezone))


@blp.route("/tasks/<task_id>/status", methods=["PUT"])
@blp.arguments(StatusInSchema)
@blp.response(200, TaskOutSchema)
@_document_errors(401, 404, 409, 428, 503)
@IF_MATCH
def update_status(data, task_id):
    """Change only the status (If-Match: its current version)."""
    return _out(service.set_status(g.api_user.id, task_id, _expected_version(), data["status"]))


@blp.route("/tasks/<task_id>", methods=["DELETE"])
@blp.response(204)
@_document_errors(401, 404, 409, 428, 503)
@IF_MATCH
def delete_task(task_id):
    """Delete a task (If-Match: its current version)."""
    service.delete(g.api_user.id, task_id, _expected_version())
    return "", 204


@blp.route("/tasks/<task_id>/restore", methods=["POST"])
@blp.response(200, TaskOutSchema)
@_document_errors(401, 404, 503)
def restore_task(task_id):
    """Undo a delete while the deleted task is still kept (a day after its deletion is out); 404 otherwise."""
    return _out(service.restore(g.api_user.id, task_id))
