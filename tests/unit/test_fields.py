"""The task field declaration drives the model, the list rows, the form and the API schemas. Pure, no sidecar."""

from datetime import datetime, timezone

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from webapp.api import schemas
from webapp.api.schemas import TaskInSchema, TaskOutSchema
from webapp.tasks import fields, model, rows
from webapp.tasks.forms import TaskForm

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
NAMES = fields.NAMES


def test_every_declared_field_is_in_the_model_the_form_and_the_api():
    assert tuple(model.TaskFields.__dataclass_fields__) == NAMES
    assert set(NAMES) <= set(model.Task.__dataclass_fields__)
    assert TaskForm.EDITABLE == NAMES and all(hasattr(TaskForm, name) for name in NAMES)
    assert set(NAMES) <= set(TaskInSchema().fields) and set(NAMES) <= set(TaskOutSchema().fields)


def test_rows_hold_the_fields_declared_in_row_and_each_sort_has_one():
    in_row = tuple(s.name for s in fields.FIELDS if s.in_row)
    assert rows.ROW_FIELDS[:len(in_row)] == in_row and "description" not in rows.ROW_FIELDS
    for spec in fields.FIELDS:
        if spec.sort:
            assert model.SORTS[spec.name] == spec.sort and spec.in_row
    with pytest.raises(ValueError):
        fields.FieldSpec("size", fields.TEXT, "Size", sort="Size")  # a sort the rows could not serve


def test_every_field_survives_storage_and_a_list_row():
    task = model.new_task("u1", model.TaskFields(
        **{**{s.name: s.default for s in fields.FIELDS}, "title": "All fields", "tags": ("a",),
           "due_at": NOW, "remind_at": NOW}), NOW)
    again = model.Task.from_dict(task.to_dict())
    assert again == task
    row = rows.Summary.from_row(task.id, rows.Summary.of(task).to_row())
    assert all(getattr(row, name) == getattr(task, name) for name in rows.ROW_FIELDS)


def test_form_and_api_read_the_same_values(form_app_context):
    data = {"title": " Plan ", "tags": "Work, home, work", "status": "pending", "priority": "high",
            "recurrence": "none", "description": ""}
    form = TaskForm(formdata=MultiDict(data), meta={"csrf": False})
    assert form.validate(), form.errors
    from_form = form.task_fields("UTC")
    from_api = model.TaskFields(**TaskInSchema().load({**data, "tags": ["Work", "home", "work"]}))
    cleaned = model.fields_of(model.new_task("u1", from_form, NOW))
    assert cleaned == model.fields_of(model.new_task("u1", from_api, NOW))
    assert cleaned.tags == ("work", "home") and cleaned.title == "Plan"


@pytest.fixture
def form_app_context():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="unit", WTF_CSRF_ENABLED=False)
    with app.test_request_context():
        yield


def test_a_kind_with_a_text_pattern_publishes_it_in_the_api_schema():
    kind = fields.Kind("code", str, parse=str.upper, pattern="^[a-z]{3}$")
    spec = fields.FieldSpec("code", kind, "Code", api_help="Three letters")
    for field in (schemas.field_in(spec), schemas.field_out(spec)):
        assert field.metadata == {"description": "Three letters", "pattern": "^[a-z]{3}$"}
    assert schemas.field_in(spec).deserialize("abc") == "ABC"
