"""Task forms: shape only. Checks that need storage happen in the views."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from .model import (DESCRIPTION_MAX, PRIORITIES, RECURRENCES, SORTS, STATUSES, TAG_MAX, TAGS_MAX, TITLE_MAX,
                    normalise_tags)

STATUS_LABELS = {"pending": "Pending", "in_progress": "In progress", "completed": "Completed"}
RECURRENCE_LABELS = {"none": "Does not repeat", "daily": "Daily", "weekly": "Weekly",
                     "monthly": "Monthly", "yearly": "Yearly"}


def field_text(field) -> str:
    """A field's value as the browser would send it back."""
    if hasattr(field, "_value"):
        return field._value() or ""
    return "" if field.data is None else str(field.data)


def validate_tags(form, field):
    tags = normalise_tags(field.data or "")
    if len(tags) > TAGS_MAX:
        raise ValidationError(f"At most {TAGS_MAX} tags.")
    too_long = [t for t in tags if len(t) > TAG_MAX]
    if too_long:
        raise ValidationError(f"Each tag is at most {TAG_MAX} characters ({too_long[0][:40]!r} is longer).")


class TaskForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the task a title."),
                                             Length(max=TITLE_MAX)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    status = SelectField("Status", choices=[(s, STATUS_LABELS[s]) for s in STATUSES], default="pending")
    priority = SelectField("Priority", choices=[(p, p.capitalize()) for p in PRIORITIES], default="medium")
    tags = StringField("Tags", validators=[Optional(), Length(max=TAGS_MAX * (TAG_MAX + 2)), validate_tags],
                       description="Comma-separated, e.g. work, home")
    due_at = DateTimeLocalField("Due", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    remind_at = DateTimeLocalField("Remind me at", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    recurrence = SelectField("Repeats", choices=[(r, RECURRENCE_LABELS[r]) for r in RECURRENCES], default="none")
    version = HiddenField()
    # The values as the user first saw them (JSON), so a conflict re-applies only what they changed.
    original = HiddenField()

    EDITABLE = ("title", "description", "status", "priority", "tags", "due_at", "remind_at", "recurrence")

    def snapshot(self) -> dict[str, str]:
        """The editable fields as the strings the browser shows and sends back."""
        return {name: field_text(self[name]) for name in self.EDITABLE}

    def validate_title(self, field):
        if field.data is not None and not field.data.strip():
            raise ValidationError("Give the task a title.")

    def validate_recurrence(self, field):
        if field.data != "none" and not self.due_at.data:
            raise ValidationError("A repeating task needs a due date.")

    def validate_remind_at(self, field):
        if field.data and self.due_at.data and field.data > self.due_at.data:
            raise ValidationError("The reminder must be before the due date.")


class ActionForm(FlaskForm):
    """Complete / reopen / delete buttons: the CSRF token and the version read."""

    version = HiddenField()


class ListFilterForm(FlaskForm):
    """The list page's GET filters (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    status = SelectField("Status", choices=[("", "Any status")] + [(s, STATUS_LABELS[s]) for s in STATUSES],
                         default="", validators=[Optional()])
    priority = SelectField("Priority", choices=[("", "Any priority")] + [(p, p.capitalize()) for p in PRIORITIES],
                           default="", validators=[Optional()])
    tag = StringField("Tag", validators=[Optional(), Length(max=TAG_MAX)])
    sort = SelectField("Sort", choices=list(SORTS.items()), default="updated", validators=[Optional()])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100000)])
