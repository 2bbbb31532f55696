"""Form validation (shape only), without a sidecar."""

from datetime import datetime

import pytest
from werkzeug.datastructures import MultiDict

from webapp.app import create_app
from webapp.tasks.forms import TaskForm


@pytest.fixture(scope="module")
def form_app():
    # No request reaches the sidecar: the factory connects to nothing.
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "unit"})


def validate(form_app, **data):
    base = {"title": "ok", "status": "pending", "priority": "medium", "recurrence": "none"}
    with form_app.test_request_context(method="POST", data=MultiDict({**base, **data})):
        form = TaskForm()
        return form.validate(), form.errors


def test_valid_form(form_app):
    ok, errors = validate(form_app, tags="a, b", due_at="2026-05-01T10:00")
    assert ok, errors


@pytest.mark.parametrize("data, field", [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"description": "x" * 5001}, "description"),
    ({"priority": "urgent"}, "priority"),
    ({"status": "done"}, "status"),
    ({"tags": ",".join(f"t{i}" for i in range(11))}, "tags"),
    ({"tags": "x" * 33}, "tags"),
    ({"due_at": "tomorrow"}, "due_at"),
    ({"recurrence": "monthly"}, "recurrence"),  # repeating needs a due date
    ({"due_at": "2026-05-01T10:00", "remind_at": "2026-05-02T10:00"}, "remind_at"),
])
def test_invalid_input_names_the_field(form_app, data, field):
    ok, errors = validate(form_app, **data)
    assert not ok and field in errors, errors
