"""Import hygiene of the shared base and the web app's non-task modules: what a module imports is what it needs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# webapp/tasks and webapp/api have their own test (tests/unit/test_imports_tasks.py).
CHECKED = sorted(p for p in (ROOT / "webapp").rglob("*.py")
                 if not p.relative_to(ROOT / "webapp").parts[0] in ("tasks", "api"))


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_inside_a_function(path):
    tree = ast.parse(path.read_text())
    hidden = [f"line {node.lineno}" for func in ast.walk(tree)
              if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
              for node in ast.walk(func) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert hidden == []


def test_the_package_itself_imports_nothing():
    loaded = loaded_after("import webapp")
    assert sorted(m for m in loaded if m.startswith("webapp")) == ["webapp"]
    assert "flask" not in loaded


@pytest.mark.parametrize("module", ["webapp.auth.users", "webapp.auth.tokens", "webapp.notifications", "webapp.admin"])
def test_domain_modules_do_not_load_pages(module):
    loaded = loaded_after(f"import {module}")
    assert module in loaded
    pages = sorted(m for m in loaded if m in ("flask_login", "flask_wtf", "webapp.app", "webapp.errors")
                   or m.endswith(".routes") or m.endswith(".forms"))
    assert pages == []
