"""The list filter's selects render once per selected choice, byte for byte what WTForms' Select renders."""

from __future__ import annotations

from flask import Flask
from werkzeug.datastructures import MultiDict
from wtforms.widgets import Select

from webapp.tasks.forms import FixedChoicesSelect, ListFilterForm


def _form(app, **args):
    with app.test_request_context("/"):
        return ListFilterForm(MultiDict(args))


def test_each_select_is_what_select_renders_for_any_value_given():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    for args in ({}, {"status": "completed"}, {"priority": "high", "sort": "due"}, {"status": "<b>bogus</b>"},
                 {"sort": "title"}, {"status": "completed"}):
        form = _form(app, **args)
        for name in ("status", "priority", "sort"):
            field = form[name]
            with app.test_request_context("/"):
                assert str(field()) == str(Select()(field)), (name, args)
                assert str(field(class_="x")) == str(Select()(field, class_="x"))


def test_a_value_outside_the_choices_is_never_kept():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    widget = ListFilterForm.status.kwargs["widget"]
    assert isinstance(widget, FixedChoicesSelect)
    for n in range(50):
        form = _form(app, status=f"made-up-{n}")
        with app.test_request_context("/"):
            form.status()
    assert not any(f"made-up-{n}" in str(key) for key in widget._rendered for n in range(50))
    assert len(widget._rendered) <= FixedChoicesSelect.MAX_RENDERED
