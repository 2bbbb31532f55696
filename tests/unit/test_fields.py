"""The task field declaration drives the model, the list rows, the form and the API schemas. Pure, no sidecar."""

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
    assert TaskForm.EDITABLE == fields.FORM_NAMES and all(hasattr(TaskForm, name) for name in fields.FORM_NAMES)
    assert set(NAMES) - set(fields.FORM_NAMES) == {"checklist"}  # edited through its own forms on the task page
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
    kept = {s.name: s.row_value for s in fields.FIELDS}  # what a row keeps of each (a checklist: its progress)
    assert all(getattr(row, name) == kept.get(name, lambda v: v)(getattr(task, name)) for name in rows.ROW_FIELDS)


def test_form_and_api_read_the_same_values(form_app_context):
    data = {"title": " Plan ", "tags": "Work, home, work", "status": "pending", "priority": "high",
            "recurrence": "none", "description": ""}
    form = TaskForm(formdata=MultiDict(data), meta={"csrf": False})
    assert form.validate(), form.errors
    from_form = form.task_fields()
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


@pytest.mark.parametrize("raw, minutes", [("1h30m", 90), ("45m", 45), ("2h", 120), ("1 h 30 min", 90),
                                          ("90m", 90), ("999h", 999 * 60), ("999h0m", 999 * 60), ("1H05M", 65),
                                          ("  ", None), ("1m", 1)])
def test_durations_are_read_in_minutes(raw, minutes):
    assert fields.parse_duration(raw) == minutes


@pytest.mark.parametrize("raw", ["0m", "0h", "1000h", "999h1m", "1000m", "1h60m", "soon", "1.5h", "h", "30",
                                 "-5m", "2h 2h", "30m1h"])
def test_unreadable_or_out_of_range_durations_are_refused(raw):
    with pytest.raises(ValueError):
        fields.parse_duration(raw)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.from_regex(fields.DURATION_PATTERN))
def test_every_text_the_published_pattern_allows_is_an_estimate_in_range(raw):
    assert 1 <= fields.parse_duration(raw) <= 999 * 60  # what the OpenAPI document allows, the API accepts


def test_durations_are_written_back_and_shown():
    assert [fields.duration_text(m) for m in (90, 45, 120, None)] == ["1h30m", "45m", "2h", ""]
    assert [fields.show_duration(m) for m in (90, 45, 120)] == ["1 h 30 min", "45 min", "2 h"]
    assert all(fields.parse_duration(fields.duration_text(m)) == m for m in (1, 59, 60, 61, 999 * 60))
