"""The web app's operator commands: ``flask --app wsgi grant-admin | revoke-admin | reconcile-jobs
(alias reconcile-reminders) | migrate-all | remove-two-factor`` (and one migration alone: ``migrate-users-index |
migrate-boards``)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from . import background, migrations
from .accounts import security_events
from .accounts import two_factor as two_factor_admin
from .auth import users
from .dapr_gateway import GatewayError, NotFound
from .migrations import personal_boards
from .migrations import users_index as users_index_migration
from .users_index import iter_user_ids


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


@click.command("migrate-all")
@with_appcontext
def migrate_all():
    """Bring every stored item of an older shape to the current one (idempotent, restartable: run it again)."""
    for migration in migrations.MIGRATIONS:
        try:
            changed, left = migration.run(), migration.remaining()
        except GatewayError as err:
            raise click.ClickException(f"{migration.NAME} stopped (run it again to go on): {err}") from None
        click.echo(f"{migration.NAME}: {changed} changed, {left} of the old shape left")
        if left:
            raise click.ClickException(f"{migration.NAME} left {left} of the old shape: run it again")


@click.command("migrate-users-index")
@with_appcontext
def migrate_users_index():
    """Fold the old single users-index item into its shards (idempotent; part of migrate-all)."""
    try:
        moved = users_index_migration.run()
    except GatewayError as err:
        raise click.ClickException(f"the state store could not be updated: {err}") from None
    click.echo(f"moved {moved} ids into the users index shards")


@click.command("migrate-boards")
@with_appcontext
def migrate_boards():
    """Give every user their personal board's records (idempotent, restartable; part of migrate-all)."""
    try:
        written = personal_boards.run()
    except GatewayError as err:
        raise click.ClickException(f"stopped (run it again to go on): {err}") from None
    click.echo(f"wrote the personal board of {written} users")


@click.command("remove-two-factor")
@click.argument("username")
@with_appcontext
def remove_two_factor(username):
    """Turn off an account's second factor (a user who lost their phone and their recovery codes)."""
    try:
        removed = two_factor_admin.remove(username)
    except NotFound:
        raise click.ClickException(f"no account named {username!r}") from None
    except GatewayError as err:
        raise click.ClickException(f"the state store could not be updated: {err}") from None
    if removed:
        security_events.record("two_factor_removed_by_operator", users.find(username)["id"], None)
    click.echo(f"{username}: second factor removed" if removed else f"{username} had no second factor")


def register(app: Flask) -> None:
    """Add the commands to ``flask --app wsgi``."""
    for command in (grant_admin, revoke_admin, reconcile_jobs, reconcile_reminders, migrate_all, migrate_users_index,
                    migrate_boards, remove_two_factor):
        app.cli.add_command(command)
