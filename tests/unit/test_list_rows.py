"""The list page renders from index rows alone: every task attribute its template reads is in the row. Pure."""

from datetime import timedelta
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from tests.unit.test_task_model import NOW, make
from webapp.tasks import fields, rows
from webapp.tasks.checklist import ChecklistItem

ROOT = Path(__file__).resolve().parents[2]


LIST_TEMPLATES = ("tasks/list.html", "_macros.html", "tasks/_values.html")  # the page and the macros it calls


def _task_attributes() -> set[str]:
    """The attributes ``task.<name>`` (and ``task[spec.name]`` fields) the list page reads of a listed task."""
    env = jinja2.Environment()
    read: set[str] = set()
    for template in LIST_TEMPLATES:
        tree = env.parse((ROOT / "templates" / template).read_text())
        read |= {node.attr for node in tree.find_all(nodes.Getattr)
                 if isinstance(node.node, nodes.Name) and node.node.name == "task"}
        if any(isinstance(node.node, nodes.Name) and node.node.name == "task"
               for node in tree.find_all(nodes.Getitem)):
            read |= {spec.name for spec in fields.FIELDS if spec.in_list}  # task[spec.name] of the in_list fields
    return read


def test_the_list_template_reads_only_what_a_row_has():
    read = _task_attributes()
    assert {"status", "priority", "tags", "due_at", "recurrence", "assignee", "version", "is_overdue"} <= read
    missing = sorted(name for name in read if not hasattr(rows.Summary, name))
    assert missing == [], f"the list shows {missing}, which its rows do not keep: declare them in_row"


@pytest.mark.parametrize("task", [
    make("Overdue and repeating", status="in_progress", priority="high", tags=("work", "q3"),
         due_at=NOW - timedelta(days=1), recurrence="weekly", estimate=90, assignee="ab12"),
    make("Done", status="completed", due_at=NOW - timedelta(days=1)),
    make("Plain"),
    make("With a checklist", checklist=(ChecklistItem("a", "One", True), ChecklistItem("b", "Two"))),
], ids=["full", "completed", "plain", "checklist"])
def test_a_row_answers_the_list_exactly_as_its_task(task):
    summary = rows.Summary.from_row(task.id, rows.Summary.of(task).to_row())
    for name in sorted(_task_attributes()):
        mine, theirs = getattr(summary, name), getattr(task, name)
        if callable(theirs):
            mine, theirs = mine(NOW), theirs(NOW)
        spec = fields.BY_NAME.get(name)
        if spec is not None and spec.kind.row_of:  # the row keeps a summary of it (a checklist's "3/5")
            mine, theirs = spec.display(mine), spec.display(theirs)
        assert mine == theirs, name


def test_a_field_shown_on_list_rows_must_be_in_the_row():
    with pytest.raises(ValueError, match="in_row"):
        fields.FieldSpec("note", fields.TEXT, "Note", in_list=True)
    assert all(spec.in_row for spec in fields.FIELDS if spec.in_list)
