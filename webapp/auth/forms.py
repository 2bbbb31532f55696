"""Account forms (shape only; uniqueness and passwords are checked in the views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from .. import timezones
from ..accounts.forms import address_shape

USERNAME_RULE = Regexp(r"^[A-Za-z0-9_.-]+$", message="Use letters, digits, dots, dashes and underscores only.")


class RegisterForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(min=3, max=32), USERNAME_RULE],
                           render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)],
                             render_kw={"autocomplete": "new-password"},
                             description="At least 8 characters.")
    confirm = PasswordField("Repeat password",
                            validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
                            render_kw={"autocomplete": "new-password"})
    timezone = SelectField("Time zone", default="UTC")
    email = StringField("E-mail address (optional)", validators=[Optional(), Length(max=254), address_shape],
                        render_kw={"autocomplete": "email", "type": "email"},
                        description="For password resets and the notifications you choose; we send a link "
                                    "to confirm it first.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezones.choices()


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=32)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})


class SettingsForm(FlaskForm):
    timezone = SelectField("Time zone")
    digest_time = StringField("Daily digest at", validators=[
        Optional(), Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", message="Enter a time of day as HH:MM, e.g. 08:00.")],
        render_kw={"type": "time"}, description="Your tasks due today and overdue, each morning in your time zone.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezones.choices()


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=60)],
                       description="What the token is for, e.g. “laptop script”.")
    expires = SelectField("Expires", coerce=int, default=0,
                          choices=[(0, "Never"), (30, "In 30 days"), (90, "In 90 days"), (365, "In a year")])


class RevokeForm(FlaskForm):
    """The CSRF token of a revoke button."""
