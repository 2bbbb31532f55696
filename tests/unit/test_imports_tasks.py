"""Import hygiene of the task and API packages: the model loads alone, no cycles dodged inside functions."""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (ROOT / "webapp" / "tasks", ROOT / "webapp" / "api")


def modules_after_importing(module: str) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_importing_the_model_loads_no_views_forms_or_store():
    loaded = modules_after_importing("webapp.tasks.model")
    unwanted = {"webapp.boards.task_routes", "webapp.tasks.forms", "webapp.tasks.store", "webapp.tasks.rows",
                "flask_wtf", "wtforms", "marshmallow"}
    assert not loaded & unwanted, sorted(loaded & unwanted)
    assert "webapp.tasks.fields" in loaded


def _imports(path: Path) -> tuple[list[str], list[int]]:
    """The modules ``path`` imports anywhere, and the lines of imports not at module level."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    names, nested = [], []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if id(node) not in top:
                nested.append(node.lineno)
    return names, nested


def test_no_imports_inside_functions_or_type_checking_blocks():
    nested = {str(path.relative_to(ROOT)): lines for package in PACKAGES for path in sorted(package.glob("*.py"))
              if (lines := _imports(path)[1])}
    assert nested == {}


def test_the_model_does_not_import_the_rows():
    names, _ = _imports(ROOT / "webapp" / "tasks" / "model.py")
    assert not [n for n in names if n.endswith("rows")], names
