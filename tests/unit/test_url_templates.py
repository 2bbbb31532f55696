"""url_for through a cached template per endpoint gives exactly Flask's URL, and leaves every other case to it."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask
from werkzeug.routing import BuildError

from webapp.url_templates import _UNTEMPLATED, TemplatedUrlFlask

VALUES = ["3f2a9c", "a b", "ü/ß", "x?y#z", "%41", "", "a&b=c", "100%"]


def _app(cls):
    app = cls(__name__)
    bp = Blueprint("tasks", __name__)
    bp.add_url_rule("/tasks/<task_id>", "detail", lambda task_id: "")
    bp.add_url_rule("/tasks/<task_id>/complete", "complete", lambda task_id: "", methods=["POST"])
    bp.add_url_rule("/boards/<board_id>/members/<user_id>/role", "role", lambda board_id, user_id: "")
    bp.add_url_rule("/files/<path:name>", "file", lambda name: "")
    bp.add_url_rule("/pages/<int:number>", "page", lambda number: "")
    bp.add_url_rule("/tasks", "list_tasks", lambda: "")
    def two(kind, n=0):
        return ""
    bp.add_url_rule("/two/<kind>", "two", two)
    bp.add_url_rule("/two/<kind>/<int:n>", "two", two)
    bp.add_url_rule("/defaulted/<kind>", "defaulted", lambda kind: "", defaults={"extra": "1"})
    app.register_blueprint(bp)
    return app


CALLS = [("tasks.detail", {"task_id": v}) for v in VALUES] + [
    ("tasks.complete", {"task_id": "abc"}),
    ("tasks.role", {"board_id": "b 1", "user_id": "u/2"}),
    ("tasks.role", {"user_id": "u/2", "board_id": "b 1"}),
    ("tasks.file", {"name": "a/b c.txt"}),
    ("tasks.page", {"number": 3}),
    ("tasks.list_tasks", {"tag": "x y", "board": None}),
    ("tasks.detail", {"task_id": "abc", "next": "/tasks?x=1"}),
    ("tasks.two", {"kind": "a"}),
    ("tasks.two", {"kind": "a", "n": 2}),
    ("tasks.detail", {"task_id": 42}),
]


@pytest.mark.parametrize("script_root", ["", "/prefix"])
def test_every_url_is_the_one_flask_builds(script_root):
    templated, plain = _app(TemplatedUrlFlask), _app(Flask)
    for _ in range(2):  # the second round is served from the cached templates
        for endpoint, values in CALLS:
            with templated.test_request_context("/", base_url=f"http://localhost{script_root}"):
                got = templated.url_for(endpoint, **values)
            with plain.test_request_context("/", base_url=f"http://localhost{script_root}"):
                assert got == plain.url_for(endpoint, **values), (endpoint, values)
    assert sum(t is not _UNTEMPLATED for t in templated._url_templates.values()) >= 4  # the templated routes


def test_anchor_scheme_external_and_relative_endpoints_are_flasks():
    templated, plain = _app(TemplatedUrlFlask), _app(Flask)
    calls = [("tasks.detail", {"task_id": "a b", "_anchor": "c d"}), ("tasks.detail", {"task_id": "a", "_external": True}),
             ("tasks.detail", {"task_id": "a", "_external": True, "_scheme": "https"}),
             ("tasks.complete", {"task_id": "a", "_method": "POST"})]
    for endpoint, values in calls:
        with templated.test_request_context("/tasks/x"):
            got = templated.url_for(endpoint, **values)
        with plain.test_request_context("/tasks/x"):
            assert got == plain.url_for(endpoint, **values)
    with templated.test_request_context("/tasks/x"):
        assert templated.url_for(".detail", task_id="q") == "/tasks/q"


def test_an_unknown_endpoint_or_a_missing_value_still_raises():
    app = _app(TemplatedUrlFlask)
    with app.test_request_context("/"):
        with pytest.raises(BuildError):
            app.url_for("tasks.nowhere", task_id="a")
        with pytest.raises(BuildError):
            app.url_for("tasks.role", board_id="b")


def test_a_defaulted_rule_is_built_by_flask():
    app = _app(TemplatedUrlFlask)
    with app.test_request_context("/"):
        assert app.url_for("tasks.defaulted", kind="k") == "/defaulted/k"
    assert set(app._url_templates.values()) == {_UNTEMPLATED}


@pytest.mark.parametrize("script_root", ["", "/prefix"])
def test_a_route_without_values_is_its_template_and_one_with_values_it_needs_still_raises(script_root):
    templated, plain = _app(TemplatedUrlFlask), _app(Flask)
    for _ in range(2):
        with templated.test_request_context("/", base_url=f"http://localhost{script_root}"):
            got = templated.url_for("tasks.list_tasks")
            with pytest.raises(BuildError):
                templated.url_for("tasks.detail")
            with pytest.raises(BuildError):
                templated.url_for("tasks.two")
        with plain.test_request_context("/", base_url=f"http://localhost{script_root}"):
            assert got == plain.url_for("tasks.list_tasks") == f"{script_root}/tasks"
    assert [t for key, t in templated._url_templates.items() if key[0] == "tasks.list_tasks" and len(key) == 2] \
        == [([f"{script_root}/tasks"], [])]  # templated: the URL itself
