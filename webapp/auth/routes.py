"""Account views."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..accounts import mail as account_mail
from ..accounts import profile as account_profile
from ..accounts import security_log, sessions
from ..background import digests
from ..dapr_gateway import GatewayError
from ..accounts import second_step, two_factor
from ..appearance import routes as appearance_routes
from ..calendar_feed import routes as calendar_feed_routes
from ..extensions import login_manager
from ..my_tasks import reading as my_tasks_reading
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


def _sign_in(user: users.User, record: dict | None = None) -> None:
    # A fresh session at login: nothing from before survives (session fixation).
    session.clear()
    session["profile"] = {"id": user.id, "username": user.username, "timezone": user.timezone,
                          "is_admin": user.is_admin, "theme": user.theme}
    sessions.remember(record if record is not None else account_profile.record_of(user.id))
    login_user(user)
    security_log.record(user.id, "sign-in", request.remote_addr)


def sign_in(user: users.User) -> None:
    """Start the signed-in session of ``user``: where every way in ends (password, second step, single sign-on)."""
    _sign_in(user)


def _after_sign_in() -> str:
    """Where sign-in leads: the checked ``next``, else My tasks once the user is on a shared board, else the list."""
    target = safe_redirect_target(request.args.get("next"))
    if target:
        return target
    try:
        shared = my_tasks_reading.is_on_shared_board(current_user.id)
    except GatewayError:
        shared = False  # the list page says what is wrong, if anything still is
    return url_for("my_tasks.my_tasks") if shared else url_for("tasks.list_tasks")


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
            _sign_in(user, record={})  # a new account is at the first session generation
            if form.email.data:
                _ask_to_verify(user.id, form.email.data.strip())
            flash(f"Welcome, {user.username}! Create your first task.", "success")
            return redirect(url_for("tasks.new_task"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


def _ask_to_verify(user_id: str, address: str) -> None:
    """Send the new account's address its confirmation link; if that fails, Settings can send it again."""
    try:
        nonce = account_profile.set_pending_address(user_id, address)
        account_mail.queue("verify-email", user_id=user_id, nonce=nonce)
    except GatewayError as err:
        logging.getLogger(__name__).warning("verification of new user %s not sent: %s", user_id, err)
        return
    flash(f"We sent a link to {address}: open it to confirm the address.", "info")


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
        if user and two_factor.is_enabled(user.id):
            second_step.begin(user, request.args.get("next"), via="password")
            return redirect(url_for("two_factor.second_step_page"))
        if user:
            _sign_in(user)
            flash(f"Signed in as {user.username}.", "success")
            return redirect(_after_sign_in())
        _count_failure(form.username.data)
        form.password.errors.append("Wrong username or password.")
    if form.is_submitted():
        status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


def _count_failure(username: str) -> None:
    """A wrong password at an existing account is counted in that account's security log."""
    try:
        record = users.find(username)
    except GatewayError:
        record = None
    if record:
        security_log.failed_sign_in(record["id"], request.remote_addr)
    else:
        security_log.operator_only("sign-in-failed", request.remote_addr, username=username[:32])


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
                security_log.record(current_user.id, "token-created", request.remote_addr)
                session[NEW_TOKEN] = shown_once.hold(token)
                flash(f"Token “{token_form.name.data}” created.", "success")
                return redirect(url_for("auth.settings"))
        status = 422
    new_token = shown_once.take(session.pop(NEW_TOKEN, None)) if request.method == "GET" else None
    return render_template("auth/settings.html", form=form, token_form=token_form, new_token=new_token,
                           tokens=tokens.listing(current_user.id), token_limit=tokens.LIMIT,
                           revoke_form=RevokeForm(), **appearance_routes.settings_context(),
                           **calendar_feed_routes.settings_context(current_user.id)), status


@bp.post("/settings/tokens/<token_id>/revoke")
@login_required
def revoke_token(token_id: str):
    tokens.revoke(current_user.id, token_id)  # NotFound (404) when it is not the user's
    security_log.record(current_user.id, "token-revoked", request.remote_addr)
    flash("Token revoked.", "success")
    return redirect(url_for("auth.settings"))
