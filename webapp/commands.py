"""The web app's operator commands: ``flask --app wsgi grant-admin | revoke-admin | reconcile-jobs
(alias reconcile-reminders) | migrate-users-index | migrate-boards``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from . import background
from .auth import users
from .boards import store as boards
from .dapr_gateway import GatewayError, NotFound
from .users_index import iter_user_ids, migrate_legacy_index


def set_admin(username: str, admin: bool) -> None:
    """Grant or revoke the operator pages; ``click.ClickException`` for an unknown name or a store failure."""
    try:
        user = users.set_admin(username, admin)
    except NotFound:
        raise click.ClickException(f"no account named {username!r}") from None
    except GatewayError as err:
        raise click.ClickException(f"the state store could not be updated: {err}") from None
    click.echo(f"{user.username} is {'now' if admin else 'no longer'} an operator")


@click.command("grant-admin")
@click.argument("username")
@with_appcontext
def grant_admin(username):
    """Give an existing account the operator pages (/admin)."""
    set_admin(username, True)


@click.command("revoke-admin")
@click.argument("username")
@with_appcontext
def revoke_admin(username):
    """Take the operator pages away from an account (effective on its next admin request)."""
    set_admin(username, False)


@click.command("reconcile-jobs")
@with_appcontext
def reconcile_jobs():
    """Re-create reminder, overdue and digest jobs missing from the scheduler (e.g. after losing its data)."""
    counts = background.reconcile_jobs(iter_user_ids())  # a page of index shards at a time
    click.echo(f"checked {counts['checked']} jobs, re-created {counts['created']}")


reconcile_reminders = click.Command("reconcile-reminders", callback=reconcile_jobs.callback,
                                    help="The old name of reconcile-jobs.")


@click.command("migrate-users-index")
@with_appcontext
def migrate_users_index():
    """Fold the old single users-index item into its shards (idempotent; walks of the index also do it)."""
    try:
        moved = migrate_legacy_index()
    except GatewayError as err:
        raise click.ClickException(f"the state store could not be updated: {err}") from None
    click.echo(f"moved {moved} ids into the users index shards")


@click.command("migrate-boards")
@with_appcontext
def migrate_boards():
    """Give every user their personal board's records (idempotent, restartable; tasks stay where they are).

    A personal board's id is its user's, so ``tasks-of:<user>`` already is its index and no task is rewritten;
    this writes only ``board:<user>`` and the user's ``boards-of`` entry, each if missing. The boards page
    writes them too on a user's first visit, so stopping half-way loses nothing: run it again.
    """
    checked = written = 0
    try:
        for user_id in iter_user_ids():  # a page of index shards at a time
            user = users.load(user_id)
            checked += 1
            if user is not None and boards.ensure_personal(user.id, user.username):
                written += 1
    except GatewayError as err:
        raise click.ClickException(f"stopped after {checked} users (run it again to go on): {err}") from None
    click.echo(f"checked {checked} users, wrote the personal board of {written}")


def register(app: Flask) -> None:
    """Add the commands to ``flask --app wsgi``."""
    for command in (grant_admin, revoke_admin, reconcile_jobs, reconcile_reminders, migrate_users_index,
                    migrate_boards):
        app.cli.add_command(command)
