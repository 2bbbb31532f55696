"""Deleting my account (``/account/delete``: what happens to my boards first, then the password) and
exporting my data (``GET /account/export``: a zip of JSON, format in ``export.py``)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from ..auth import throttling, users
from . import deletion, export, security_events
from .forms import BOARD_CHOICE_DELETE, DeleteAccountForm, board_choice_field

bp = Blueprint("account_data", __name__)
SSO_SIGNED_IN_AT = "sso_signed_in_at"  # session: when single sign-on last confirmed who this is
SSO_CONFIRMS_SECONDS = 10 * 60


def _address() -> str:
    return request.remote_addr or "-"


def _form_for(plan: deletion.Plan, submitted: bool = True) -> DeleteAccountForm:
    """The deletion form with one choice per owned board (``board_<id>``), filled from the request if
    ``submitted``."""
    fields = {f"board_{board.id}": board_choice_field(f"“{board.name}”", board.members) for board in plan.owned}
    form_class = type("DeleteAccountWithBoardsForm", (DeleteAccountForm,), fields)
    return form_class() if submitted else form_class(formdata=None)


def _confirmed_by_sso() -> bool:
    return time.time() - float(session.get(SSO_SIGNED_IN_AT, 0)) < SSO_CONFIRMS_SECONDS


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete():
    plan = deletion.plan(current_user.id)
    sso_confirmed = _confirmed_by_sso()
    if request.method == "GET":
        return _page(plan, _form_for(plan, submitted=False), sso_confirmed)
    form = _form_for(plan)
    if sso_confirmed:
        form.password.validators = []
        form.password.flags.required = False
    valid = form.validate_on_submit()
    if form.confirm.data and form.confirm.data.strip().upper() != "DELETE":
        form.confirm.errors = [*form.confirm.errors, "Type DELETE, in capitals, to confirm."]
        valid = False
    if not valid:
        return _page(plan, form, sso_confirmed, 422)
    if not sso_confirmed:
        try:
            if users.authenticate(current_user.username, form.password.data, _address()) is None:
                form.password.errors.append("Wrong password. Nothing was deleted.")
                return _page(plan, form, sso_confirmed, 422)
        except throttling.Throttled:
            form.password.errors.append("Too many attempts. Try again in a few minutes. Nothing was deleted.")
            return _page(plan, form, sso_confirmed, 429)
    choices = {board.id: form[f"board_{board.id}"].data for board in plan.owned}
    try:
        deletion.delete_account(current_user._get_current_object(), choices)
    except deletion.PlanChanged:
        flash("Your boards changed while you were deciding. Check what happens to them and confirm again.",
              "error")
        return redirect(url_for("account_data.delete"))
    security_events.record("account_deleted", current_user.id, _address())
    logout_user()
    session.clear()
    flash("Your account was deleted. Thank you for using Taskboard.", "info")
    return redirect(url_for("auth.login"))


def _page(plan: deletion.Plan, form: DeleteAccountForm, sso_confirmed: bool, status: int = 200):
    boards = [(board, form[f"board_{board.id}"]) for board in plan.owned]
    return render_template("accounts/delete.html", plan=plan, form=form, boards=boards,
                           sso_confirmed=sso_confirmed, delete_choice=BOARD_CHOICE_DELETE,
                           sso_label=current_app.config.get("OIDC_PROVIDER_LABEL")), status


@bp.get("/account/export")
@login_required
def export_archive():
    data = export.archive(current_user._get_current_object())
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    response = current_app.response_class(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = (f'attachment; filename="taskboard-{current_user.username}-'
                                               f'{stamp}.zip"')
    security_events.record("data_exported", current_user.id, _address())
    return response
