"""Board forms: shape only (who may do what, and whether a username exists, is checked in the views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from . import model

ROLE_CHOICES = [(role, f"{model.ROLE_LABELS[role]} — {model.ROLE_HELP[role]}") for role in model.ROLES]


class BoardForm(FlaskForm):
    """Create a board."""

    name = StringField("Board name", validators=[DataRequired("Give the board a name."),
                                                 Length(max=model.NAME_MAX)])


class InviteForm(FlaskForm):
    """Add an existing user to the board by username, with a role."""

    username = StringField("Username", validators=[DataRequired("Whom to invite?"), Length(max=64)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="editor")
    version = HiddenField()


class RoleForm(FlaskForm):
    """Change a member's role."""

    role = SelectField("Role", choices=[(r, model.ROLE_LABELS[r]) for r in model.ROLES])
    version = HiddenField()


class BoardActionForm(FlaskForm):
    """Remove a member, leave, delete: the CSRF token and the board's version as read."""

    version = HiddenField()


class MoveForm(FlaskForm):
    """Move a card to another column: a status change at the card's version."""

    version = HiddenField(validators=[DataRequired()])
    status = SelectField("Move to", choices=list(model.COLUMNS))
    next = HiddenField()
