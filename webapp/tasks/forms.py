"""Task forms: shape only. Checks that need storage happen in the views.

``TaskForm``'s fields are built from the declaration (``fields.FIELDS``); it
converts between what the browser sends and ``TaskFields`` in the user's zone
(``tz``), and refuses times outside the supported range (``timezones.EARLIEST``..``LATEST``).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import Select

from .. import timezones
from .fields import BY_NAME, DATETIME, FIELDS, FORM_NAMES, MEMBER, TAG_MAX, FieldSpec
from .model import SORTS, Task, TaskFields

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
FORM_FIELDS = tuple(spec for spec in FIELDS if spec.in_form)  # the rest have forms of their own (the checklist)


def field_text(field) -> str:
    """A field's value as the browser would send it back."""
    if hasattr(field, "_value"):
        return field._value() or ""
    return "" if field.data is None else str(field.data)


def _not_blank(message: str):
    def check(form, field):
        if field.data is not None and not field.data.strip():
            raise ValidationError(message)
    return check


def _parses(spec: FieldSpec):
    def check(form, field):
        try:
            spec.kind.parse(field.data or "")
        except ValueError as err:
            raise ValidationError(str(err)) from None
    return check


NOBODY = ("", "Nobody")


class MemberField(SelectField):
    """A member of the task's board (``TaskForm.offer_members`` sets the choices); anyone else: a field error."""

    def pre_validate(self, form):
        if self.data and self.data not in dict(self.choices):
            raise ValidationError("Choose a member of this board.")


def _in_range(form, field):
    """The typed wall-clock time, in the form's zone, lies in the range a task can hold."""
    try:
        timezones.to_utc(field.data, form.tz)
    except timezones.OutOfRange as err:
        raise ValidationError(str(err)) from None


def form_field(spec: FieldSpec):
    """The WTForms field (unbound) for a declared task field."""
    if spec.kind is MEMBER:
        return MemberField(spec.label, choices=[NOBODY], default="", validate_choice=False)
    if spec.kind is DATETIME:
        return DateTimeLocalField(spec.label, format=DATETIME_FORMAT, validators=[Optional(), _in_range])
    if spec.choices:
        return SelectField(spec.label, choices=list(spec.choices), default=spec.default)
    validators = [DataRequired(message=spec.required), _not_blank(spec.required)] if spec.required else [Optional()]
    if spec.max_length:
        validators.append(Length(max=spec.max_length))
    if spec.kind.parse:
        validators.append(_parses(spec))
    field_class = TextAreaField if spec.multiline else StringField
    return field_class(spec.label, validators=validators, description=spec.help)


class TaskForm(FlaskForm):
    """A task's fields (one per ``FIELDS`` entry, added below), its version and what the user first saw;
    times are typed and shown in zone ``tz`` (the signed-in user's)."""

    version = HiddenField()
    # The values as the user first saw them (JSON), so a conflict re-applies only what they changed.
    original = HiddenField()

    EDITABLE = FORM_NAMES

    def __init__(self, *args, tz: str = timezones.DEFAULT_TZ, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz

    def snapshot(self) -> dict[str, str]:
        """The editable fields as the strings the browser shows and sends back."""
        return {name: field_text(self[name]) for name in self.EDITABLE}

    def task_fields(self, editing: Task | None = None) -> TaskFields:
        """The validated data as task fields (times in UTC).

        A time left as the form showed ``editing`` (the task being edited) keeps its stored value: the
        form shows minutes in the editor's zone, so reading it back could drop seconds or, in an hour
        that a DST change repeats, pick the other of the two instants.
        """
        values = {}
        for spec in FORM_FIELDS:
            data = self[spec.name].data
            if spec.kind is DATETIME:
                kept = getattr(editing, spec.name) if editing is not None else None
                unchanged = kept is not None and data is not None and data == self._shown(kept)
                values[spec.name] = kept if unchanged else timezones.to_utc(data, self.tz)
            elif spec.kind.parse:
                values[spec.name] = spec.kind.parse(data or "")
            else:
                values[spec.name] = data if data is not None else spec.default
        return TaskFields(**values)

    def _shown(self, value: datetime) -> datetime:
        """The wall-clock minute a stored time shows as in this form's zone."""
        return timezones.to_local(value, self.tz).replace(tzinfo=None, second=0, microsecond=0)

    def fill(self, task: Task) -> None:
        """Show ``task`` and remember it as what the user first saw."""
        for spec in FORM_FIELDS:
            value = getattr(task, spec.name)
            if spec.kind is DATETIME:
                local = timezones.to_local(value, self.tz)
                self[spec.name].data = local.replace(tzinfo=None) if local else None
            else:
                self[spec.name].data = spec.kind.text(value) if spec.kind.parse else value
        self.version.data = task.version
        self.original.data = json.dumps(self.snapshot())

    def offer_members(self, board: dict) -> None:
        """Offer the board's members (its record as read) in every member field, by name."""
        people = sorted(((uid, m.get("username") or uid) for uid, m in (board.get("members") or {}).items()),
                        key=lambda pair: pair[1].lower())
        for spec in FORM_FIELDS:
            if spec.kind is MEMBER:
                self[spec.name].choices = [NOBODY, *people]

    def clear(self, name: str) -> None:
        """Empty one field (a re-applied edit that removed its value)."""
        self[name].data = None if BY_NAME[name].kind is DATETIME else ""

    def validate_recurrence(self, field):
        if field.data != "none" and not self.due_at.data:
            raise ValidationError("A repeating task needs a due date.")

    def validate_remind_at(self, field):
        if field.data and self.due_at.data and field.data > self.due_at.data:
            raise ValidationError("The reminder must be before the due date.")


for _spec in FORM_FIELDS:
    setattr(TaskForm, _spec.name, form_field(_spec))  # WTForms' way to add fields to a form class


class ActionForm(FlaskForm):
    """Complete / reopen / delete buttons: the CSRF token and the version read."""

    version = HiddenField()


class FixedChoicesSelect(Select):
    """A ``<select>`` of choices fixed in code: its HTML for each (field, selected choice, attributes) is rendered
    once and reused, byte for byte what ``Select`` renders. A value outside the choices is rendered each time."""

    MAX_RENDERED = 256

    def __init__(self):
        super().__init__()
        self._rendered: dict[tuple, object] = {}

    def __call__(self, field, **kwargs):
        choices = tuple(field.choices)
        if field.data not in {str(value) for value, _ in choices}:
            return super().__call__(field, **kwargs)
        try:
            key = (field.id, field.name, field.data, choices, tuple(sorted(kwargs.items())),
                   tuple((name, getattr(field.flags, name, None)) for name in self.validation_attrs))
            html = self._rendered.get(key)
        except TypeError:  # an unhashable attribute value
            return super().__call__(field, **kwargs)
        if html is None:
            html = super().__call__(field, **kwargs)
            if len(self._rendered) < self.MAX_RENDERED:
                self._rendered[key] = html
        return html


def _any(name: str, label: str) -> list[tuple[str, str]]:
    return [("", label)] + list(BY_NAME[name].choices)


def _filter_select(label: str, choices: list[tuple[str, str]], default: str) -> SelectField:
    """A filter's select whose value is checked against its choices as a set (``AnyOf``, SelectField's message)
    instead of SelectField's walk through every choice."""
    return SelectField(label, choices=choices, default=default, validate_choice=False, widget=FixedChoicesSelect(),
                       validators=[Optional(), AnyOf([value for value, _ in choices], message="Not a valid choice.")])


class ListFilterForm(FlaskForm):
    """The list page's GET filters (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    status = _filter_select("Status", _any("status", "Any status"), "")
    priority = _filter_select("Priority", _any("priority", "Any priority"), "")
    tag = StringField("Tag", validators=[Optional(), Length(max=TAG_MAX)])
    sort = _filter_select("Sort", list(SORTS.items()), "updated")
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100000)])


def list_filters(args) -> tuple[ListFilterForm, bool]:
    """The list page's filter form for the query ``args``, and whether it is valid. A query without any filter
    (the list as it opens) always gives the same valid form of defaults: it is built and validated once per
    process and shared, so a page must only read it."""
    if args:
        form = ListFilterForm(args)
        return form, form.validate()
    return _default_filters(), True


@cache
def _default_filters() -> ListFilterForm:
    form = ListFilterForm(MultiDict())
    form.validate()
    return form
