"""Imports run one way: apps → views → services → stores → models → keys/gateway and the base; no cycle anywhere.

Every module of webapp/ has its layer in ``LAYERS`` or takes its package's (``PACKAGE_LAYERS``); any other new
module fails here until it is given one. A module may
import its own layer or any below it, never one above; and no set of modules imports each other in a loop (at
module level, counting imports made for type annotations too).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"

BASE, MODELS, STORES, SERVICES, VIEWS, APPS = range(6)
NAMES = {BASE: "keys/gateway/base", MODELS: "models", STORES: "stores", SERVICES: "services", VIEWS: "views",
         APPS: "apps"}
LAYERS = {
    BASE: """webapp webapp.keys webapp.dapr_gateway webapp.dapr_gateway.calls webapp.dapr_gateway.connection
             webapp.dapr_gateway.errors webapp.dapr_gateway.jobs webapp.dapr_gateway.messaging webapp.dapr_gateway.sdk
             webapp.dapr_gateway.state webapp.dapr_gateway.values webapp.config webapp.metrics webapp.extensions
             webapp.timezones webapp.recurrence webapp.security webapp.app_token webapp.events webapp.errors
             webapp.sidecar webapp.observability webapp.state_lists webapp.held webapp.dapr_gateway.http_binding
             webapp.dapr_gateway.actors""",
    MODELS: """webapp.tasks webapp.tasks.fields webapp.tasks.model webapp.tasks.rows webapp.boards webapp.boards.model
               webapp.auth webapp.background.checks webapp.accounts webapp.accounts.links webapp.accounts.totp_codes
               webapp.markdown webapp.tasks.checklist webapp.comments webapp.comments.model webapp.checklists
               webapp.my_tasks webapp.my_tasks.entries webapp.calendar_feed webapp.calendar_feed.ics webapp.appearance""",
    STORES: """webapp.activity webapp.users_index webapp.auth.users webapp.auth.tokens webapp.auth.throttling
               webapp.auth.shown_once webapp.boards.store webapp.boards.feed webapp.tasks.store webapp.tasks.index
               webapp.tasks.outbox webapp.tasks.creation webapp.tasks.relay_marks webapp.tasks.my_tasks_followup
               webapp.notifications webapp.notifications.inbox webapp.dead_letters
               webapp.background.leases webapp.background.horizon webapp.background.probe
               webapp.notification_service.delivery webapp.notification_service.email webapp.accounts.profile
               webapp.accounts.security_log webapp.accounts.two_factor webapp.accounts.security_events
               webapp.my_tasks.index webapp.my_tasks.repair webapp.calendar_feed.feeds webapp.appearance.themes""",
    SERVICES: """webapp.tasks.service webapp.tasks.listing webapp.boards.access webapp.boards.deletion
                 webapp.boards.followers webapp.background webapp.background.task_jobs
                 webapp.background.reminders webapp.background.overdue webapp.background.digests
                 webapp.background.sweep webapp.background.relay webapp.background.reconcile
                 webapp.background.task_events webapp.background.task_updates webapp.accounts.sessions
                 webapp.accounts.password webapp.accounts.mail webapp.accounts.settings_section webapp.accounts.oidc
                 webapp.accounts.sso_accounts webapp.accounts.deletion webapp.accounts.export webapp.comments.service
                 webapp.comments.notices webapp.my_tasks.reading webapp.boards.actor""",
    VIEWS: """webapp.boards.task_routes webapp.tasks.forms webapp.boards.routes webapp.boards.forms webapp.auth.routes
              webapp.auth.forms webapp.notifications.routes webapp.admin webapp.admin.routes webapp.api
              webapp.api.common webapp.api.tasks webapp.api.boards webapp.api.schemas webapp.background.routes
              webapp.notification_service.routes webapp.health webapp.commands webapp.accounts.forms
              webapp.accounts.routes webapp.accounts.second_step webapp.accounts.two_factor_views
              webapp.accounts.oidc_views webapp.accounts.data_views webapp.comments.routes webapp.comments.forms
              webapp.checklists.routes webapp.checklists.forms webapp.api.comments webapp.my_tasks.routes
              webapp.calendar_feed.routes webapp.appearance.routes webapp.boards.actor_routes""",
    APPS: """webapp.app webapp.base webapp.notification_service""",
}
# A module a package adds later takes its package's layer unless LAYERS names it (a new job kind, a migration).
PACKAGE_LAYERS = {"webapp.background": SERVICES, "webapp.migrations": SERVICES}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(WEBAPP.rglob("*.py"))}
LAYER_OF = {**{module: layer for module in MODULES for package, layer in PACKAGE_LAYERS.items()
               if module == package or module.startswith(package + ".")},
            **{module: layer for layer, names in LAYERS.items() for module in names.split()}}


def imported_modules(name: str) -> set[str]:
    """The webapp modules ``name`` imports (``from . import x`` names module ``x`` when it is one)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target not in MODULES and "." in target:
                target = target.rpartition(".")[0]
            if target in MODULES and target != name:
                found.add(target)
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer():
    assert sorted(set(MODULES) - set(LAYER_OF)) == [], "give each new module its layer in LAYERS"
    assert sorted(set(LAYER_OF) - set(MODULES)) == [], "LAYERS names modules that no longer exist"


def test_no_import_points_up():
    upward = [f"{source} ({NAMES[LAYER_OF[source]]}) imports {target} ({NAMES[LAYER_OF[target]]})"
              for source, targets in GRAPH.items() for target in sorted(targets)
              if source in LAYER_OF and target in LAYER_OF and LAYER_OF[target] > LAYER_OF[source]]
    assert upward == []


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
