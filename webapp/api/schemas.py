"""The JSON API's request and response shapes (they generate the OpenAPI document).

A task's fields come from the declaration (``tasks.fields.FIELDS``): one
marshmallow field per declared field, in and out.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from .. import timezones
from ..boards.model import NAME_MAX, ROLES
from ..tasks import checklist
from ..tasks.fields import CHECKLIST, CHOICE, DATETIME, FIELDS, TAG_MAX, TAGS, TAGS_MAX, TEXT, FieldSpec
from ..tasks.model import PRIORITIES, SORTS, STATUSES


class Parsed(fields.String):
    """A value typed as text (e.g. an estimate "1h30m"): read with its kind's parser, written back as that text."""

    def __init__(self, spec: FieldSpec, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else self.spec.kind.text(value)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.spec.kind.parse(text)
        except ValueError as err:
            raise ValidationError(str(err)) from None


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with its offset, read as UTC; refused outside the supported range."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return timezones.to_utc(super()._deserialize(value, attr, data, **kwargs), None)
        except timezones.OutOfRange as err:
            raise ValidationError(str(err)) from None


# A character that is not blank both to Python's ``re`` (which counts \x1c-\x1f and \x85 as spaces) and to
# ECMA-262, the OpenAPI document's pattern dialect (which counts \ufeff): the server refuses what the document does.
NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"


def not_blank(error: str) -> validate.Regexp:
    """The check that a text holds a ``NOT_BLANK`` character, with ``error`` when it does not."""
    return validate.Regexp(rf"(?s).*{NOT_BLANK}", error=error)


def _doc(spec: FieldSpec) -> dict:
    """What the OpenAPI document says of the field beyond its type: its description and its text's pattern."""
    pattern = NOT_BLANK if spec.kind is TEXT and spec.required else spec.kind.pattern
    metadata = {"description": spec.api_help, "pattern": pattern}
    return {"metadata": {key: value for key, value in metadata.items() if value}}


class ChecklistItemSchema(Schema):
    """One checklist item: a new one (no id) gets an id."""

    id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    text = fields.String(required=True, validate=[validate.Length(min=1, max=checklist.ITEM_TEXT_MAX),
                                                  not_blank("Must not be blank.")],
                         metadata={"pattern": NOT_BLANK, "description": "Not blank; kept without surrounding spaces"})
    done = fields.Boolean(load_default=False)

    @post_load
    def item(self, data, **_):
        return checklist.ChecklistItem(data.get("id") or "", data["text"], data["done"])


def field_in(spec: FieldSpec) -> fields.Field:
    """How the API reads a declared field."""
    if spec.kind is CHECKLIST:  # absent or null: the checklist stays as it is
        return fields.List(fields.Nested(ChecklistItemSchema), load_default=None, allow_none=True,
                           validate=validate.Length(max=checklist.ITEMS_MAX), **_doc(spec))
    if spec.kind is TEXT:
        limit = validate.Length(min=1 if spec.required else None, max=spec.max_length or None)
        if spec.required:
            return fields.String(required=True, validate=[limit, not_blank(f"{spec.title} must not be blank.")],
                                 **_doc(spec))
        return fields.String(load_default=spec.default, validate=limit, **_doc(spec))
    if spec.kind is CHOICE:
        return fields.String(load_default=spec.default, validate=validate.OneOf(spec.values), **_doc(spec))
    if spec.kind is TAGS:
        return fields.List(fields.String(validate=validate.Length(min=1, max=TAG_MAX)), load_default=list,
                           validate=validate.Length(max=TAGS_MAX), **_doc(spec))
    if spec.kind is DATETIME:
        return UtcDateTime(load_default=None, allow_none=True, **_doc(spec))
    return Parsed(spec, load_default=spec.default, allow_none=True, **_doc(spec))


def field_out(spec: FieldSpec) -> fields.Field:
    """How the API writes a declared field."""
    if spec.kind is CHECKLIST:
        return fields.List(fields.Nested(ChecklistItemSchema), **_doc(spec))
    if spec.kind is TAGS:
        return fields.List(fields.String(), **_doc(spec))
    if spec.kind is DATETIME:  # in UTC; one stored before the range was checked may lie outside the pattern
        return fields.DateTime(allow_none=True, metadata={"description": "In UTC."})
    if spec.kind in (TEXT, CHOICE):
        return fields.String(**_doc(spec))
    return Parsed(spec, allow_none=True, **_doc(spec))


class _TaskIn(Schema):
    @validates_schema
    def not_blank(self, data, **_):
        for spec in FIELDS:
            if spec.required and spec.kind is TEXT and spec.name in data and not data[spec.name].strip():
                raise ValidationError(f"{spec.title} must not be blank.", spec.name)


TaskInSchema = type("TaskInSchema", (_TaskIn,), {"__module__": __name__, **{s.name: field_in(s) for s in FIELDS}})

TaskOutSchema = Schema.from_dict({
    "id": fields.String(),
    **{spec.name: field_out(spec) for spec in FIELDS},
    "created_at": fields.DateTime(),
    "updated_at": fields.DateTime(),
    "completed_at": fields.DateTime(allow_none=True),
    "version": fields.String(allow_none=True),
}, name="TaskOutSchema")


class StatusInSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class TaskListQuerySchema(Schema):
    status = fields.String(load_default="", validate=validate.OneOf(("",) + STATUSES))
    priority = fields.String(load_default="", validate=validate.OneOf(("",) + PRIORITIES))
    tag = fields.String(load_default="", validate=validate.Length(max=TAG_MAX))
    q = fields.String(load_default="", validate=validate.Length(max=200))
    sort = fields.String(load_default="updated", validate=validate.OneOf(tuple(SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(TaskOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class ProblemSchema(Schema):
    """An error: what went wrong, for people and programs."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    status = fields.Integer(required=True)
    errors = fields.Dict(metadata={"description": "Per-field messages of invalid input"})


class BoardSummarySchema(Schema):
    """A board the caller is on, with their role."""

    id = fields.String()
    name = fields.String()
    role = fields.String(metadata={"description": "owner, editor or viewer"})
    personal = fields.Boolean(metadata={"description": "The caller's personal board (its id is theirs)"})


class BoardListSchema(Schema):
    items = fields.List(fields.Nested(BoardSummarySchema))


class MemberSchema(Schema):
    user_id = fields.String()
    username = fields.String()
    role = fields.String()


class BoardOutSchema(BoardSummarySchema):
    """A board with its members; its ETag header (and ``version``) changes with every membership change."""

    version = fields.String()
    members = fields.List(fields.Nested(MemberSchema))


class MemberListSchema(Schema):
    items = fields.List(fields.Nested(MemberSchema))
    version = fields.String(metadata={"description": "The board's version (also its ETag)"})


class BoardInSchema(Schema):
    name = fields.String(required=True,
                         validate=[validate.Length(min=1, max=NAME_MAX), not_blank("Must not be blank.")],
                         metadata={"pattern": NOT_BLANK, "description": "Not blank; kept without surrounding spaces"})


class MemberInSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(load_default="editor", validate=validate.OneOf(ROLES))


class RoleInSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
