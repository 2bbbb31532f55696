"""Forms of the account pages (shape only: codes and passwords are checked in the views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

CODE_FIELD_OPTIONS = {"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "off",
                      "spellcheck": "false"}


class SecondStepForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32)], render_kw=CODE_FIELD_OPTIONS,
                       description="The 6-digit code from your authenticator app, or one of your recovery codes.")


class ConfirmSetupForm(FlaskForm):
    code = StringField("Code from the app", validators=[DataRequired(), Length(max=32)],
                       render_kw=CODE_FIELD_OPTIONS, description="The 6 digits the app shows now.")


class StartSetupForm(FlaskForm):
    """The CSRF token of the button that starts (or restarts) a setup."""


class DisableForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})
    code = StringField("Code", validators=[DataRequired(), Length(max=32)], render_kw=CODE_FIELD_OPTIONS,
                       description="From your authenticator app, or a recovery code.")


class LinkAccountForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=32)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})


class NewAccountForm(FlaskForm):
    """The CSRF token of the button that creates a new account for a single sign-on identity."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})
    confirm = StringField("Type DELETE to confirm", validators=[DataRequired(), Length(max=16)],
                          render_kw={"autocomplete": "off", "autocapitalize": "characters"})


BOARD_CHOICE_DELETE = "delete"


def board_choice_field(label: str, members: list[tuple[str, str]]) -> SelectField:
    """What happens to one owned board: ``delete``, or the id of the member who becomes its owner."""
    choices = [(uid, f"Transfer to {name}") for uid, name in members] + \
              [(BOARD_CHOICE_DELETE, "Delete it with its tasks")]
    return SelectField(label, choices=choices, default=choices[0][0])

