"""Checklist forms: shape only. Whether the item is still as the person saw it is checked on the task now."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..tasks.checklist import ITEM_TEXT_MAX, OPS


def _not_blank(form, field):
    if field.data is not None and not field.data.strip():
        raise ValidationError("Write what the item is.")


class AddItemForm(FlaskForm):
    """A new item at the end of the checklist; ``board``: the board the page showed the task on."""

    text = StringField("New item", validators=[
        DataRequired(message="Write what the item is."), _not_blank,
        Length(max=ITEM_TEXT_MAX, message=f"An item is at most {ITEM_TEXT_MAX} characters.")], id="new-item")
    version = HiddenField(id="new-item-version")  # ids of their own: the task page holds other forms' fields too
    board = HiddenField(id="new-item-board")


class ItemForm(FlaskForm):
    """A change to one item (``op``), made from the item as the page showed it (``seen``)."""

    op = SelectField(choices=[(op, op) for op in OPS], validate_choice=True)
    seen = HiddenField(validators=[DataRequired()])
    text = StringField(validators=[Length(max=ITEM_TEXT_MAX, message=f"An item is at most {ITEM_TEXT_MAX} "
                                                                      "characters.")])
    version = HiddenField()
    board = HiddenField()
