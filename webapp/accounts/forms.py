"""Forms of the account pages (shape only: passwords, addresses and codes are checked against storage in the views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from .profile import EMAIL_MAX, PREFERENCES, valid_address


def address_shape(form, field) -> None:
    if field.data and not valid_address(field.data.strip()):
        raise ValidationError("Enter one e-mail address, like name@example.com.")


def current_password_field():
    return PasswordField("Current password", validators=[DataRequired(), Length(max=128)],
                         render_kw={"autocomplete": "current-password"})


def new_password_fields():
    password = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=128)],
                             render_kw={"autocomplete": "new-password"}, description="At least 8 characters.")
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
                            render_kw={"autocomplete": "new-password"})
    return password, confirm


class EmailForm(FlaskForm):
    email = StringField("E-mail address", validators=[Optional(), Length(max=EMAIL_MAX), address_shape],
                        render_kw={"autocomplete": "email", "type": "email"},
                        description="Leave empty to remove your address. A new address gets a link to confirm it; "
                                    "nothing else is sent to it before.")
    current_password = current_password_field()


class PreferencesForm(FlaskForm):
    """Which notifications go by e-mail (one checkbox each, named after ``PREFERENCES``)."""


for _name, _label in PREFERENCES.items():
    setattr(PreferencesForm, _name, BooleanField(_label))


class PasswordForm(FlaskForm):
    current_password = current_password_field()
    password, confirm = new_password_fields()


class ResetRequestForm(FlaskForm):
    identifier = StringField("Username or e-mail address", validators=[DataRequired(), Length(max=EMAIL_MAX)],
                             render_kw={"autocomplete": "username"})


class ResetForm(FlaskForm):
    password, confirm = new_password_fields()


class SignOutEverywhereForm(FlaskForm):
    current_password = current_password_field()
    tokens = BooleanField("Also revoke every API token")


class UnsubscribeForm(FlaskForm):
    """The button of the unsubscribe page: the signed link is its authority (mail clients post it without a
    session, RFC 8058), so it has no CSRF token."""

    class Meta:
        csrf = False


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

