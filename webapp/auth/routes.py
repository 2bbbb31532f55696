"""Account views."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..background import digests
from ..dapr_gateway import GatewayError
from ..extensions import login_manager
from ..security import safe_redirect_target
from . import shown_once, throttling, tokens, users
from .forms import LoginForm, RegisterForm, RevokeForm, SettingsForm, TokenForm

bp = Blueprint("auth", __name__)
NEW_TOKEN = "new_token"  # session key: how to open the token just created (never the token), shown once


@login_manager.user_loader
def load_user(user_id: str):
    """The user from the signed session (no sidecar call per request)."""
    profile = session.get("profile")
    if profile and profile.get("id") == user_id:
        return users.User(profile["id"], profile["username"], profile.get("timezone", "UTC"),
                          bool(profile.get("is_admin")))
    return None


def _sign_in(user: users.User) -> None:
    # A fresh session at login: nothing from before survives (session fixation).
    session.clear()
    session["profile"] = {"id": user.id, "username": user.username, "timezone": user.timezone,
                          "is_admin": user.is_admin}
    login_user(user)


def _after_sign_in() -> str:
    return safe_redirect_target(request.args.get("next")) or url_for("tasks.list_tasks")


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("tasks.list_tasks"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = users.register(form.username.data, form.password.data, form.timezone.data)
        except users.UsernameTaken:
            form.username.errors.append("This username is taken. Choose another one.")
        else:
            _schedule_digest(user.id)
            _sign_in(user)
            flash(f"Welcome, {user.username}! Create your first task.", "success")
            return redirect(url_for("tasks.new_task"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


def _schedule_digest(user_id: str) -> None:
    """The new account's first digest job; if the scheduler is out, ``reconcile-jobs`` schedules it later."""
    try:
        digests.schedule(user_id)
    except GatewayError as err:
        logging.getLogger(__name__).warning("digest of new user %s not scheduled yet: %s", user_id, err)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_after_sign_in())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.username.data, form.password.data, request.remote_addr or "-")
        except throttling.Slowed as slowed:
            wait = f"{slowed.seconds} second" + ("s" if slowed.seconds != 1 else "")
            form.username.errors.append(f"Too many sign-in attempts at this account. Try again in {wait}.")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(slowed.seconds)}
        except throttling.Throttled:
            form.username.errors.append("Too many failed attempts for this account from here. "
                                        "Try again in a few minutes.")
            return render_template("auth/login.html", form=form), 429
        if user:
            _sign_in(user)
            flash(f"Signed in as {user.username}.", "success")
            return redirect(_after_sign_in())
        form.password.errors.append("Wrong username or password.")
    if form.is_submitted():
        status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    # CSRFProtect has already checked the token of this POST.
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm()
    token_form = TokenForm()
    status = 200
    if request.method == "GET":
        form.timezone.data = current_user.timezone
        form.digest_time.data = digests.stored_time(current_user.id)
    elif "timezone" in request.form:
        if form.validate_on_submit():
            user = users.update_timezone(current_user, form.timezone.data)
            session["profile"] = {**session["profile"], "timezone": user.timezone}
            tokens.retime(user.id, user.timezone)  # API calls use the zone the user has now
            if form.digest_time.data:
                users.set_digest_time(user.id, form.digest_time.data)
            digests.schedule(user.id)  # the next digest, at the time and in the zone just saved
            flash("Settings saved.", "success")
            return redirect(url_for("auth.settings"))
        status = 422
    else:
        form.timezone.data = current_user.timezone
        form.digest_time.data = digests.stored_time(current_user.id)
        if token_form.validate_on_submit():
            try:
                token = tokens.create(current_user, token_form.name.data, token_form.expires.data or None)
            except tokens.TooManyTokens:
                token_form.name.errors.append(f"You already have {tokens.LIMIT} tokens, the most allowed. "
                                              "Revoke one you no longer use, then create this one.")
            else:  # POST-redirect-GET: a reload of the page does not create a second token
                session[NEW_TOKEN] = shown_once.hold(token)
                flash(f"Token “{token_form.name.data}” created.", "success")
                return redirect(url_for("auth.settings"))
        status = 422
    new_token = shown_once.take(session.pop(NEW_TOKEN, None)) if request.method == "GET" else None
    return render_template("auth/settings.html", form=form, token_form=token_form, new_token=new_token,
                           tokens=tokens.listing(current_user.id), token_limit=tokens.LIMIT,
                           revoke_form=RevokeForm()), status


@bp.post("/settings/tokens/<token_id>/revoke")
@login_required
def revoke_token(token_id: str):
    tokens.revoke(current_user.id, token_id)  # NotFound (404) when it is not the user's
    flash("Token revoked.", "success")
    return redirect(url_for("auth.settings"))
