"""Two-factor pages: set up, confirm and turn off the second factor (``/account/two-factor``), and the
sign-in's second step (``/login/two-factor``). Views: validate → call ``two_factor`` → flash → redirect."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..auth import shown_once, throttling, users
from ..auth.routes import sign_in
from ..dapr_gateway import NotFound
from ..security import safe_redirect_target
from . import second_step, security_events, totp_codes, two_factor
from .forms import ConfirmSetupForm, DisableForm, SecondStepForm, StartSetupForm

bp = Blueprint("two_factor", __name__)
NEW_RECOVERY_CODES = "new_recovery_codes"  # session key: how to open the codes just made (never the codes)
THROTTLE_PREFIX = "second-factor:"  # the code step's attempts are counted apart from the password's
WRONG_CODE = "That code is not right, or it was used already. Wait for the next code in the app and try again."


def _address() -> str:
    return request.remote_addr or "-"


def throttled_page(template: str, form, slowed: throttling.Throttled, **context):
    """The form again with a 429 and how long to wait (the password's throttling rules)."""
    if isinstance(slowed, throttling.Slowed):
        wait = f"{slowed.seconds} second" + ("s" if slowed.seconds != 1 else "")
        form.code.errors.append(f"Too many attempts at this account. Try again in {wait}.")
        return render_template(template, form=form, **context), 429, {"Retry-After": str(slowed.seconds)}
    form.code.errors.append("Too many attempts from here. Try again in a few minutes.")
    return render_template(template, form=form, **context), 429


def check_code_throttled(user_id: str, username: str, code: str) -> str:
    """Use ``code`` as ``user_id``'s second factor, counted like a password attempt first; returns its kind.

    Raises ``throttling.Throttled``/``Slowed`` (too many attempts), ``two_factor.WrongCode``, ``NotFound``.
    """
    name = THROTTLE_PREFIX + username
    throttling.reserve(name, _address())
    kind = two_factor.check(user_id, code)
    throttling.signed_in(name, _address())
    return kind


@bp.route("/login/two-factor", methods=["GET", "POST"])
def second_step_page():
    waiting = second_step.pending()
    if waiting is None or current_user.is_authenticated:
        flash("Sign in with your password first.", "info")
        return redirect(url_for("auth.login"))
    form = SecondStepForm()
    if not form.validate_on_submit():
        return render_template("accounts/second_step.html", form=form), 422 if form.is_submitted() else 200
    try:
        kind = check_code_throttled(waiting["user_id"], waiting["username"], form.code.data)
    except throttling.Throttled as slowed:
        return throttled_page("accounts/second_step.html", form, slowed)
    except two_factor.WrongCode:
        security_events.record("second_factor_failed", waiting["user_id"], _address())
        form.code.errors.append(WRONG_CODE)
        return render_template("accounts/second_step.html", form=form), 422
    except NotFound:  # an operator removed the factor while this sign-in waited: the password has passed
        kind = "none"
    user = users.load(waiting["user_id"])
    if user is None:  # the account was deleted meanwhile
        second_step.end()
        flash("This account no longer exists.", "info")
        return redirect(url_for("auth.login"))
    target = safe_redirect_target(waiting.get("next")) or url_for("tasks.list_tasks")
    sign_in(user)
    security_events.record("signed_in", user.id, _address(), via=waiting.get("via", "password"), second_factor=kind)
    if kind == "recovery":
        left = two_factor.recovery_codes_left(user.id)
        flash(f"Signed in with a recovery code: {left} left. Make new ones on the two-factor page if you "
              "are running low.", "info")
    else:
        flash(f"Signed in as {user.username}.", "success")
    return redirect(target)


@bp.get("/account/two-factor")
@login_required
def settings():
    return _page()


def _page(confirm_form: ConfirmSetupForm | None = None, disable_form: DisableForm | None = None, status: int = 200):
    factor = two_factor.record(current_user.id)
    setup = None
    if factor is None:
        secret = two_factor.pending_secret(current_user.id)
        if secret:
            uri = totp_codes.provisioning_uri(secret, current_user.username)
            setup = {"secret": secret, "grouped": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                     "qr": totp_codes.qr_svg(uri)}
    codes = shown_once.take(session.pop(NEW_RECOVERY_CODES, None)) if request.method == "GET" else None
    return render_template("accounts/two_factor.html", factor=factor, setup=setup, since=_since(factor),
                           recovery_codes=codes.split("\n") if codes else None,
                           codes_left=len(factor.get("recovery", [])) if factor else 0,
                           start_form=StartSetupForm(formdata=None),
                           confirm_form=confirm_form or ConfirmSetupForm(formdata=None),
                           disable_form=disable_form or DisableForm(formdata=None)), status


@bp.post("/account/two-factor")
@login_required
def change():
    action = request.form.get("action")
    if action == "start":
        if not StartSetupForm().validate_on_submit():
            return _page(status=400)
        if two_factor.is_enabled(current_user.id):
            flash("Two-factor sign-in is already on.", "info")
        else:
            two_factor.begin_setup(current_user.id)
        return redirect(url_for("two_factor.settings"))
    if action == "confirm":
        return _confirm()
    if action == "disable":
        return _disable()
    return _page(status=400)


def _confirm():
    form = ConfirmSetupForm()
    if not form.validate_on_submit():
        return _page(confirm_form=form, status=422)
    try:
        codes = two_factor.confirm_setup(current_user.id, form.code.data)
    except two_factor.SetupExpired:
        flash("That setup expired. Start again: scan the new code.", "error")
        return redirect(url_for("two_factor.settings"))
    except two_factor.WrongCode:
        form.code.errors.append("That code does not match. Check the app's clock and enter the code it shows now.")
        return _page(confirm_form=form, status=422)
    session[NEW_RECOVERY_CODES] = shown_once.hold("\n".join(codes))
    security_events.record("two_factor_enabled", current_user.id, _address())
    flash("Two-factor sign-in is on. Keep your recovery codes somewhere safe.", "success")
    return redirect(url_for("two_factor.settings"))


def _disable():
    form = DisableForm()
    if not form.validate_on_submit():
        return _page(disable_form=form, status=422)
    try:
        if users.authenticate(current_user.username, form.password.data, _address()) is None:
            form.password.errors.append("Wrong password.")
            return _page(disable_form=form, status=422)
        check_code_throttled(current_user.id, current_user.username, form.code.data)
    except throttling.Throttled as slowed:
        return throttled_page("accounts/two_factor.html", form, slowed, **_context_for_errors(form))
    except two_factor.WrongCode:
        form.code.errors.append(WRONG_CODE)
        return _page(disable_form=form, status=422)
    except NotFound:
        flash("Two-factor sign-in is already off.", "info")
        return redirect(url_for("two_factor.settings"))
    two_factor.disable(current_user.id)
    security_events.record("two_factor_disabled", current_user.id, _address())
    flash("Two-factor sign-in is off. Your password alone signs you in now.", "success")
    return redirect(url_for("two_factor.settings"))


def _since(factor: dict | None) -> datetime | None:
    return datetime.fromisoformat(factor["confirmed_at"]) if factor else None


def _context_for_errors(form: DisableForm) -> dict:
    factor = two_factor.record(current_user.id)
    return {"factor": factor, "setup": None, "recovery_codes": None, "since": _since(factor),
            "codes_left": len(factor.get("recovery", [])) if factor else 0,
            "start_form": StartSetupForm(formdata=None), "confirm_form": ConfirmSetupForm(formdata=None),
            "disable_form": form}
