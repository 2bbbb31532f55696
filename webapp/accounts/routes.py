"""Account self-service pages: e-mail address and choices, password change and reset, sign out everywhere,
the links sent by e-mail (verify, reset, unsubscribe)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..auth import throttling, tokens
from . import links, mail, password, profile, security_log, sessions
from .forms import (EmailForm, PasswordForm, PreferencesForm, ResetForm, ResetRequestForm, SignOutEverywhereForm,
                    UnsubscribeForm)

bp = Blueprint("accounts", __name__)
RESET_THROTTLE_PREFIX = "reset:"  # reset requests are counted apart from sign-ins (their own login-attempts keys)


def client_address() -> str:
    return request.remote_addr or "-"


def _checked_password(field) -> tuple[dict | None, int]:
    """The caller's record when ``field`` holds their current password, counted like a sign-in attempt (the
    same throttle: it is a guess at the same password). (None, 422) when wrong, (None, 429) when throttled."""
    try:
        throttling.reserve(current_user.username, client_address())
    except throttling.Slowed as slowed:
        field.errors.append(f"Too many password attempts at this account. Try again in {slowed.seconds} s.")
        return None, 429
    except throttling.Throttled:
        field.errors.append("Too many wrong passwords from here. Try again in a few minutes.")
        return None, 429
    record = profile.record_of(current_user.id)
    if password.matches(record, field.data or ""):
        throttling.signed_in(current_user.username, client_address())
        return record, 200
    field.errors.append("That is not your current password.")
    return None, 422


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def email():
    form, prefs_form = EmailForm(prefix="address"), PreferencesForm(prefix="prefs")
    status = 200
    if request.method == "POST" and request.form.get("form") == "prefs":
        if prefs_form.validate_on_submit():
            profile.set_preferences(current_user.id, {k: prefs_form[k].data for k in profile.PREFERENCES})
            flash("E-mail choices saved.", "success")
            return redirect(url_for("accounts.email"))
        status = 422
    elif request.method == "POST":
        status = 422
        if form.validate_on_submit():
            record, status = _checked_password(form.current_password)
            if record is not None:
                return _change_address(record, (form.email.data or "").strip())
    record = profile.record_of(current_user.id)
    if request.method == "GET" or request.form.get("form") != "prefs":
        for name, chosen in profile.preferences(record).items():
            prefs_form[name].data = chosen
    if request.method == "GET":
        form.email.data = (record.get("email_pending") or {}).get("address") or record.get("email")
    return render_template("accounts/email.html", form=form, prefs_form=prefs_form, record=record,
                           preferences=profile.PREFERENCES), status


def _change_address(record: dict, address: str):
    if not address:
        profile.remove_address(current_user.id)
        security_log.record(current_user.id, "email-removed", client_address())
        flash("Your e-mail address was removed. Nothing more is sent by e-mail.", "success")
        return redirect(url_for("accounts.email"))
    if address.lower() == (record.get("email") or "").lower():
        flash("That address is already verified.", "info")
        return redirect(url_for("accounts.email"))
    nonce = profile.set_pending_address(current_user.id, address)
    mail.queue("verify-email", user_id=current_user.id, nonce=nonce)
    security_log.record(current_user.id, "email-added", client_address())
    flash(f"We sent a link to {address}. Open it to confirm the address; until then nothing else is sent there.",
          "success")
    return redirect(url_for("accounts.email"))


def _link_problem(err: links.LinkInvalid, what: str):
    """The clear page of a link that cannot be used (nothing changed)."""
    expired = isinstance(err, links.LinkExpired)
    return render_template("accounts/link_invalid.html", what=what, expired=expired), 410 if expired else 400


@bp.get("/verify-email/<token>")
def verify_email(token: str):
    try:
        payload = links.read(current_app.secret_key, links.VERIFY_EMAIL, token, links.VERIFY_MAX_AGE_SECONDS)
        user_id, address, nonce = str(payload["u"]), str(payload["a"]), str(payload["n"])
    except (links.LinkInvalid, KeyError) as err:
        return _link_problem(err if isinstance(err, links.LinkInvalid) else links.LinkInvalid(), "confirmation")
    try:
        verified = profile.verify_address(user_id, address, nonce)
    except profile.AddressTaken:
        return render_template("accounts/link_invalid.html", what="confirmation", taken=True), 409
    except profile.NotFound:
        verified = False
    if not verified:
        return _link_problem(links.LinkInvalid("used"), "confirmation")
    security_log.record(user_id, "email-verified", client_address())
    return render_template("accounts/verified.html", address=address)


@bp.route("/password-reset", methods=["GET", "POST"])
def password_reset():
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template("accounts/reset_request.html", form=form), 422 if form.is_submitted() else 200
    identifier = form.identifier.data.strip()
    # The same work whatever was typed: count the request, schedule the job that looks the account up.
    try:
        throttling.reserve(RESET_THROTTLE_PREFIX + identifier.lower(), client_address())
    except throttling.Throttled:
        form.identifier.errors.append("Too many reset requests from here. Try again in a few minutes.")
        return render_template("accounts/reset_request.html", form=form), 429
    mail.queue("password-reset", identifier=identifier, address=client_address())
    security_log.operator_only("password-reset-requested", client_address())
    return render_template("accounts/reset_sent.html")


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def password_reset_form(token: str):
    try:
        record = password.reset_target(token)
    except links.LinkInvalid as err:
        return _link_problem(err, "password reset")
    form = ResetForm()
    if form.validate_on_submit():
        try:
            password.reset(token, form.password.data)
        except links.LinkInvalid as err:
            return _link_problem(err, "password reset")
        security_log.record(record["id"], "password-reset", client_address())
        flash("Your password was changed and every session signed out. Sign in with the new password.", "success")
        return redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/reset_form.html", form=form, username=record["username"]), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        record, status = _checked_password(form.current_password)
        if record is not None:
            password.change(current_user.id, form.password.data)
            security_log.record(current_user.id, "password-changed", client_address())
            flash("Password changed. Your other sessions were signed out.", "success")
            return redirect(url_for("auth.settings"))
    elif form.is_submitted():
        status = 422
    return render_template("accounts/password.html", form=form), status


@bp.route("/account/sign-out-everywhere", methods=["GET", "POST"])
@login_required
def sign_out_everywhere():
    form = SignOutEverywhereForm()
    status = 200
    if form.validate_on_submit():
        record, status = _checked_password(form.current_password)
        if record is not None:
            sessions.end_others(current_user.id)
            revoked = 0
            if form.tokens.data:
                for token in tokens.listing(current_user.id):
                    tokens.revoke(current_user.id, token["id"])
                    revoked += 1
            security_log.record(current_user.id, "signed-out-everywhere", client_address(), tokens_revoked=revoked)
            flash("Every other session was signed out" + (f" and {revoked} API token(s) revoked." if form.tokens.data
                                                          else "."), "success")
            return redirect(url_for("auth.settings"))
    elif form.is_submitted():
        status = 422
    return render_template("accounts/sign_out_everywhere.html", form=form), status


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    try:
        payload = links.read(current_app.secret_key, links.UNSUBSCRIBE, token, None)
        user_id, preference = str(payload["u"]), payload.get("p")
    except (links.LinkInvalid, KeyError):
        return _link_problem(links.LinkInvalid(), "unsubscribe")
    if preference is not None and preference not in profile.PREFERENCES:
        return _link_problem(links.LinkInvalid(), "unsubscribe")
    label = profile.PREFERENCES.get(preference, "every notification") if preference else "every notification"
    form = UnsubscribeForm()
    if request.method == "POST":
        try:
            profile.turn_off(user_id, preference)
        except profile.NotFound:
            return _link_problem(links.LinkInvalid(), "unsubscribe")
        return render_template("accounts/unsubscribe.html", done=True, label=label, form=form)
    return render_template("accounts/unsubscribe.html", done=False, label=label, form=form)
