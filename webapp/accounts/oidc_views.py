"""Single sign-on pages: ``/login/oidc`` sends the browser to the provider, ``/login/oidc/callback`` takes it
back, ``/login/oidc/link`` lets a first sign-in link an existing account (its password) or make a new one.

The session keeps the request's state, nonce and PKCE verifier (``oidc``) until the callback, and the
verified identity (``oidc_identity``) until it is linked; both lapse after PENDING_SECONDS. Every failure
answers a page that names no account.
"""

from __future__ import annotations

import logging
import secrets
import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..auth import throttling, users
from ..background import digests
from ..auth.routes import sign_in
from ..dapr_gateway import GatewayError
from ..errors import error_response
from ..security import safe_redirect_target
from . import oidc, second_step, security_events, sso_accounts, two_factor
from .data_views import SSO_SIGNED_IN_AT
from .forms import LinkAccountForm, NewAccountForm

bp = Blueprint("oidc", __name__)
log = logging.getLogger(__name__)
PENDING_SECONDS = 10 * 60
REQUEST_KEY, IDENTITY_KEY = "oidc", "oidc_identity"
START_AGAIN = "This sign-in has expired or was not started here. Start again."


@bp.app_context_processor
def single_sign_on():
    """What the sign-in and registration pages show of single sign-on."""
    return {"sso": {"enabled": oidc.enabled(), "only": bool(current_app.config.get("SSO_ONLY")),
                    "label": current_app.config.get("OIDC_PROVIDER_LABEL")}}


@bp.before_app_request
def only_single_sign_on():
    """With ``SSO_ONLY``, password sign-in and registration answer a page that leads to the provider."""
    if not current_app.config.get("SSO_ONLY") or request.endpoint not in ("auth.login", "auth.register"):
        return None
    if current_user.is_authenticated:
        return redirect(url_for("tasks.list_tasks"))
    refused = request.endpoint == "auth.register" or request.method == "POST"
    return render_template("accounts/sso_only.html", register=request.endpoint == "auth.register",
                           refused=refused, next=safe_redirect_target(request.args.get("next"))), \
        403 if refused else 200


def _redirect_uri() -> str:
    return current_app.config.get("OIDC_REDIRECT_URI") or url_for("oidc.callback", _external=True)


def _address() -> str:
    return request.remote_addr or "-"


def _failure(status: int, message: str):
    return error_response(status, message)


@bp.get("/login/oidc")
def start():
    if not oidc.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("tasks.list_tasks"))
    try:
        auth = oidc.authorization_request(_redirect_uri())
    except oidc.ProviderUnavailable as err:
        return _failure(503, str(err))
    except oidc.SignInFailed as err:
        return _failure(502, str(err))
    next_url = safe_redirect_target(request.args.get("next"))
    session[REQUEST_KEY] = {"state": auth.state, "nonce": auth.nonce, "verifier": auth.verifier,
                            "next": next_url, "since": time.time()}
    return redirect(auth.url)


def _fresh(entry: dict | None) -> dict | None:
    return entry if entry and time.time() - float(entry.get("since", 0)) <= PENDING_SECONDS else None


@bp.get("/login/oidc/callback")
def callback():
    if not oidc.enabled():
        abort(404)
    started = _fresh(session.pop(REQUEST_KEY, None))  # one use: a replayed callback finds nothing
    if started is None or not secrets.compare_digest(request.args.get("state", ""), started["state"]):
        return _failure(400, START_AGAIN)
    if request.args.get("error"):
        log.info("oidc: the provider answered %s", request.args.get("error"))
        return _failure(400, "The sign-in was cancelled or refused at the provider. Nothing was changed.")
    if not request.args.get("code"):
        return _failure(400, START_AGAIN)
    try:
        identity = oidc.finish(request.args["code"], started["verifier"], started["nonce"], _redirect_uri())
        user = sso_accounts.linked_user(identity)
    except oidc.ProviderUnavailable as err:
        return _failure(503, str(err))
    except oidc.SignInFailed as err:
        return _failure(400, str(err))
    if user is not None:
        return _signed_in_or_second_step(user, started.get("next"))
    session[IDENTITY_KEY] = {"issuer": identity.issuer, "subject": identity.subject,
                             "preferred_username": identity.preferred_username, "email": identity.email,
                             "name": identity.name, "next": started.get("next"), "since": time.time()}
    return redirect(url_for("oidc.link"))


def _signed_in_or_second_step(user: users.User, next_url: str | None):
    if two_factor.is_enabled(user.id):
        second_step.begin(user, next_url, via="sso")
        return redirect(url_for("two_factor.second_step_page"))
    sign_in(user)
    session[SSO_SIGNED_IN_AT] = time.time()  # confirms who this is to /account/delete for a while
    security_events.record("signed_in", user.id, _address(), via="sso")
    flash(f"Signed in as {user.username}.", "success")
    return redirect(safe_redirect_target(next_url) or url_for("tasks.list_tasks"))


def _pending_identity() -> tuple[oidc.Identity, str | None] | None:
    entry = _fresh(session.get(IDENTITY_KEY))
    if entry is None:
        return None
    return oidc.Identity(entry["issuer"], entry["subject"], entry.get("preferred_username"), entry.get("email"),
                         entry.get("name")), entry.get("next")


@bp.route("/login/oidc/link", methods=["GET", "POST"])
def link():
    if not oidc.enabled():
        abort(404)
    pending = _pending_identity()
    if pending is None:
        return _failure(400, START_AGAIN)
    identity, next_url = pending
    link_form, new_form = LinkAccountForm(formdata=None), NewAccountForm(formdata=None)
    status = 200
    if request.method == "POST" and request.form.get("action") == "new":
        new_form = NewAccountForm()
        if new_form.validate_on_submit():
            return _finish_new_account(identity, next_url)
        status = 400
    elif request.method == "POST":
        link_form = LinkAccountForm()
        if link_form.validate_on_submit():
            answer = _link_existing(identity, next_url, link_form)
            if answer is not None:
                return answer
        status = 429 if any("Too many" in e for e in link_form.username.errors) else 422
    return render_template("accounts/sso_link.html", link_form=link_form, new_form=new_form,
                           suggested=sso_accounts.name_base(identity)), status


def _link_existing(identity: oidc.Identity, next_url: str | None, form: LinkAccountForm):
    try:
        user = users.authenticate(form.username.data, form.password.data, _address())
    except throttling.Throttled:
        form.username.errors.append("Too many sign-in attempts at this account. Try again in a few minutes.")
        return None
    if user is None:
        form.password.errors.append("Wrong username or password.")
        return None
    try:
        sso_accounts.link(identity, user.id)
    except sso_accounts.AlreadyLinked:
        session.pop(IDENTITY_KEY, None)
        return _failure(409, "This sign-in was linked to an account meanwhile. Start again.")
    session.pop(IDENTITY_KEY, None)
    security_events.record("sso_linked", user.id, _address(), issuer=identity.issuer)
    return _signed_in_or_second_step(user, next_url)


def _finish_new_account(identity: oidc.Identity, next_url: str | None):
    try:
        user = sso_accounts.new_account(identity)
    except sso_accounts.AlreadyLinked:
        session.pop(IDENTITY_KEY, None)
        return _failure(409, "This sign-in was linked to an account meanwhile. Start again.")
    session.pop(IDENTITY_KEY, None)
    try:
        digests.schedule(user.id)
    except GatewayError as err:
        log.warning("digest of new user %s not scheduled yet: %s", user.id, err)
    security_events.record("sso_account_created", user.id, _address(), issuer=identity.issuer)
    sign_in(user)
    session[SSO_SIGNED_IN_AT] = time.time()
    flash(f"Welcome, {user.username}! Your account signs in with {current_app.config['OIDC_PROVIDER_LABEL']}.",
          "success")
    return redirect(safe_redirect_target(next_url) or url_for("tasks.list_tasks"))
