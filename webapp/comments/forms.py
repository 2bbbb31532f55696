"""Comment forms: shape only (the text's limits); who may comment is checked by the views."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from .model import TEXT_MAX


def _not_blank(form, field):
    if field.data is not None and not field.data.strip():
        raise ValidationError("Write a comment.")


def _text_field(label: str) -> TextAreaField:
    return TextAreaField(label, validators=[
        DataRequired(message="Write a comment."), _not_blank,
        Length(max=TEXT_MAX, message=f"A comment is at most {TEXT_MAX:,} characters.")],
        description="Markdown works; @username tells a member of this board.", id="comment-text")


class CommentForm(FlaskForm):
    """A new comment (Markdown); ``board``: the board the page showed the task on (read with the task)."""

    text = _text_field("Add a comment")
    board = HiddenField(id="comment-board")  # ids of their own: the task page holds other forms' fields too


class CommentEditForm(CommentForm):
    """New text for a comment, made at its ``version``."""

    text = _text_field("Your comment")
    version = HiddenField(id="comment-version")


class CommentDeleteForm(FlaskForm):
    """Delete a comment seen at ``version``."""

    version = HiddenField(id="delete-version")
    board = HiddenField(id="delete-board")
