"""Error pages: every failure answers with a page (or JSON) that says what happened.

Gateway errors cross into the views once; whatever a view does not handle
itself lands here. Never a traceback.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .dapr_gateway import Conflict, NotFound, Rejected, Unavailable

log = logging.getLogger(__name__)
BUSY_RETRY_AFTER_SECONDS = 1


class Busy(Unavailable):
    """Too many writes to one item at once, even after backing off: nothing was stored; 503, try again."""


class TaskLimitReached(ValueError):
    """The user's list holds the most tasks it can (``MAX_TASKS_PER_BOARD``): nothing was created; 422."""

    def __init__(self, limit: int):
        super().__init__(f"You have {limit:,} tasks, the most one list can hold: delete some to add more.")
        self.limit = limit


class ListFull(TaskLimitReached):
    """The board's list would pass its size in bytes (``INDEX_MAX_BYTES``): nothing was stored; 422."""

    def __init__(self, limit_bytes: int):
        ValueError.__init__(self, f"This list is full: its tasks' titles and tags take the most it can hold "
                                  f"({limit_bytes // 1024:,} KB). Shorten some, or delete tasks, to add more.")
        self.limit = limit_bytes

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    422: "Invalid input",
    428: "Precondition required",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def wants_json() -> bool:
    """JSON for the API and the inbound Dapr routes; HTML for pages."""
    path = request.path
    return path.startswith(("/api/", "/events/", "/job/", "/dapr/")) or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, message: str, details: dict | None = None):
    """A JSON body or the error page, with ``status``."""
    title = TITLES.get(status, "Error")
    if wants_json():
        extra = {"errors": details} if details else {}
        body = jsonify(error=title.lower().replace(" ", "_"), message=message, status=status, **extra)
    else:
        body = render_template("errors/error.html", status=status, title=title, message=message)
    response = make_response(body)
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return error_response(400, "The form expired or was not sent from this site. "
                                   "Go back, reload the page and try again.")

    @app.errorhandler(NotFound)
    def not_found(err):
        return error_response(404, "There is nothing here.")

    @app.errorhandler(Conflict)
    def conflict(err):
        return error_response(409, "Someone else changed this at the same time. Reload and try again.")

    @app.errorhandler(Rejected)
    def rejected(err):
        log.warning("rejected by sidecar: %s", err)
        return error_response(400, "The request was refused as invalid.")

    @app.errorhandler(Busy)
    def busy(err):
        # Not a 409: the client sent no precondition that failed; trying again will work.
        log.warning("busy: %s", err)
        response = error_response(503, "Too many changes are being saved at once. "
                                       "Nothing was stored; please try again in a moment.")
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(TaskLimitReached)
    def task_limit(err):
        return error_response(422, str(err), {"limit": err.limit})

    @app.errorhandler(Unavailable)
    def unavailable(err):
        log.error("infrastructure unavailable: %s", err)
        response = error_response(503, "Taskboard cannot reach its storage right now. "
                                       "Nothing was lost; please try again in a moment.")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        # webargs (the API's validation) puts the per-field messages in err.data.
        details = (getattr(err, "data", None) or {}).get("messages")
        response = error_response(err.code or 500, err.description or TITLES.get(err.code, "Error"), details)
        if err.code == 401 and request.path.startswith("/api/"):
            response.headers["WWW-Authenticate"] = 'Bearer realm="taskboard"'
        return response

    @app.errorhandler(Exception)
    def unexpected(err):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "An unexpected error happened. It has been logged.")
