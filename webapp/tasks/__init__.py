"""Task pages: list, create, detail, edit and the complete / reopen / delete actions."""

from flask import Blueprint

bp = Blueprint("tasks", __name__)

from . import routes  # noqa: E402,F401  (registers the views on bp)
