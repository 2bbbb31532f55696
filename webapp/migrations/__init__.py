"""Old data shapes, migrated in one place: ``flask --app wsgi migrate-all`` runs every migration in order.

Each migration is a module with ``NAME``, ``run() -> int`` (items changed; idempotent, restartable: stopping
half-way loses nothing, run it again) and ``remaining() -> int`` (old shapes still stored: 0 once it has run).
The code on the request and background paths reads only the current shapes, so run ``migrate-all`` once after
upgrading from a release that stored older ones. A new migration is one module and one line in MIGRATIONS.
"""

from __future__ import annotations

from types import ModuleType

from . import pending_boards, personal_boards, task_documents, users_index

MIGRATIONS: tuple[ModuleType, ...] = (users_index, pending_boards, personal_boards, task_documents)


def run_all() -> dict[str, int]:
    """Run every migration in order; {name: items changed} (``GatewayError`` stops at the first failure)."""
    return {migration.NAME: migration.run() for migration in MIGRATIONS}


def remaining() -> dict[str, int]:
    """{name: old shapes still stored} for every migration (``GatewayError``)."""
    return {migration.NAME: migration.remaining() for migration in MIGRATIONS}
