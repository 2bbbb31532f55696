"""``POST /settings/theme``: the person's colour scheme (system / light / dark)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField

from . import themes

bp = Blueprint("appearance", __name__)


class ThemeForm(FlaskForm):
    theme = RadioField("Colour scheme", choices=list(themes.THEMES), default=themes.DEFAULT)


def current_theme() -> str:
    """The signed-in person's theme, from the session (no read)."""
    return themes.valid((session.get("profile") or {}).get("theme"))


def settings_context() -> dict:
    """The Settings page's theme form, showing the current choice."""
    form = ThemeForm(formdata=None)
    form.theme.data = current_theme()
    return {"theme_form": form}


@bp.post("/settings/theme")
@login_required
def set_theme():
    form = ThemeForm()
    if not form.validate_on_submit():
        flash("Choose a colour scheme: as your system, light or dark.", "error")
        return redirect(url_for("auth.settings") + "#appearance")
    themes.set_theme(current_user.id, form.theme.data)
    session["profile"] = {**session["profile"], "theme": form.theme.data}
    flash("Colour scheme saved.", "success")
    return redirect(url_for("auth.settings") + "#appearance")
