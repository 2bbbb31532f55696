"""The JSON API's request and response shapes (they generate the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from ..tasks.model import (DESCRIPTION_MAX, PRIORITIES, RECURRENCES, SORTS, STATUSES, TAG_MAX, TAGS_MAX,
                           TITLE_MAX)


class TaskInSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    description = fields.String(load_default="", validate=validate.Length(max=DESCRIPTION_MAX))
    status = fields.String(load_default="pending", validate=validate.OneOf(STATUSES))
    priority = fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=TAG_MAX)), load_default=list,
                       validate=validate.Length(max=TAGS_MAX))
    due_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)
    remind_at = fields.AwareDateTime(load_default=None, allow_none=True)
    recurrence = fields.String(load_default="none", validate=validate.OneOf(RECURRENCES),
                               metadata={"description": "Applies once due_at is set."})

    @validates("title")
    def title_not_blank(self, value, **_):
        if not value.strip():
            raise ValidationError("Title must not be blank.")


class StatusInSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class TaskOutSchema(Schema):
    id = fields.String()
    title = fields.String()
    description = fields.String()
    status = fields.String()
    priority = fields.String()
    tags = fields.List(fields.String())
    due_at = fields.DateTime(allow_none=True)
    remind_at = fields.DateTime(allow_none=True)
    recurrence = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    version = fields.String(allow_none=True)


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
