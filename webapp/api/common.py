"""What every API route shares: the blueprint, bearer-token sign-in, If-Match, the task's ETag, documented errors."""

from __future__ import annotations

from flask import abort, g, request
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

from ..auth import tokens
from ..boards import access
from ..boards.store import load_board
from ..errors import error_response
from ..keys import task_key
from ..tasks import model, store
from ..tasks.fields import NAMES
from ..tasks.model import TaskFields
from .schemas import ProblemSchema


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


@blp.before_request
def authenticate():
    if request.endpoint == "api-docs.openapi_json":
        return None
    header = request.headers.get("Authorization", "")
    # The task a route names is read with the token (``access.task_access(..., known=g.api_reads)``).
    task_id = (request.view_args or {}).get("task_id") or ""
    also = [task_key(task_id)] if store.valid_id(task_id) else []
    user, reads = tokens.resolve_reading(header[7:].strip(), also) if header[:7].lower() == "bearer " else (None, {})
    if user is None:
        abort(401, description="Send a valid personal access token as 'Authorization: Bearer <token>'.")
    g.api_user, g.api_reads = user, reads
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
          422: "Invalid input, or the list already holds the most tasks it can (MAX_TASKS_PER_BOARD; "
               "`errors.limit`): delete some to add more",
          503: "Storage unavailable, or too many writes at once (see Retry-After)"}


def document_errors(*codes):
    def wrap(fn):
        for code in codes:
            fn = blp.alt_response(code, schema=ProblemSchema, description=ERRORS[code])(fn)
        return fn
    return wrap
