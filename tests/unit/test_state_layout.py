"""The data model on one page: every state key is built in webapp/keys.py, and docs/state-layout.md lists each.

After changing webapp/keys.py: ``.venv/bin/python -m tests.unit.test_state_layout`` rewrites the document.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "webapp" / "keys.py"
DOC = ROOT / "docs" / "state-layout.md"
ENTRY = re.compile(r"^``(?P<key>[^`]+)`` = (?P<shape>.+); TTL: (?P<ttl>.+); owner: (?P<owner>[\w/.]+)\.$")


def documented_keys() -> dict[str, tuple[str, str, str]]:
    """{key pattern: (shape, ttl, owner)} from the docstrings of webapp/keys.py (builders and constants)."""
    tree = ast.parse(KEYS.read_text())
    docs = [ast.get_docstring(node) for node in tree.body if isinstance(node, ast.FunctionDef)]
    docs += [node.value.value for prev, node in zip(tree.body, tree.body[1:])
             if isinstance(prev, ast.Assign) and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)]
    entries = {}
    for doc in docs:
        match = ENTRY.match(doc or "")
        if match:
            entries[match["key"]] = (match["shape"], match["ttl"], match["owner"])
    return entries


def layout_document() -> str:
    """docs/state-layout.md as webapp/keys.py describes the keys."""
    rows = [f"| `{key}` | {shape.replace('|', chr(92) + '|')} | {ttl} | `{owner}` |"
            for key, (shape, ttl, owner) in documented_keys().items()]
    return "\n".join([
        "# State layout", "",
        "Every key Taskboard stores in Dapr state, generated from the docstrings of `webapp/keys.py` (the one module",
        "that builds keys; `tests/unit/test_state_layout.py` fails when this table and that module disagree, and",
        "`.venv/bin/python -m tests.unit.test_state_layout` rewrites it). The sidecar prefixes each key with its",
        "app-id (`taskboard||…`, `notification-service||…`), so the two apps never share one. Lists",
        "(`{\"items\": [...]}`) change through `webapp/state_lists.py`: one ETag-guarded write per change, retried.",
        "", "| Key | Value | TTL | Owner (writes it) |", "|---|---|---|---|", *rows, "",
        "Consistency: a change is one guarded write of the task document plus new `outbox:<event id>` keys; every",
        "other row above is derived and repaired from the documents (index rows by the relay and the sweep,",
        "histories and feeds by the task-events handler, once per event id). Old shapes are migrated by",
        "`flask --app wsgi migrate-all` (`webapp/migrations/`), never read on the request path.", ""])


def test_every_key_builder_names_its_value_shape_ttl_and_owner():
    tree = ast.parse(KEYS.read_text())
    builders = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.endswith("_key")]
    assert builders
    for node in builders:
        assert ENTRY.match(ast.get_docstring(node) or ""), f"{node.name}: its docstring lacks shape, TTL or owner"
    for entry in documented_keys().values():
        assert (ROOT / "webapp" / entry[2]).exists(), f"owner {entry[2]} is not a module"


def test_the_state_layout_document_lists_every_key_as_keys_py_describes_it():
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = (cells[1].replace("\\|", "|"), cells[2], cells[3].strip("`"))
    assert rows == documented_keys()


def test_no_module_but_keys_py_spells_out_a_key_prefix():
    prefixes = {key.split(":")[0].split("<")[0] for key in documented_keys()}
    spelled = re.compile(r"""f?["'](%s):""" % "|".join(re.escape(p) for p in sorted(prefixes) if p))
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "webapp").rglob("*.py")) if path != KEYS
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if spelled.search(line) and not line.lstrip().startswith(("#", '"""', "``"))]
    assert offenders == []


if __name__ == "__main__":
    DOC.write_text(layout_document())
