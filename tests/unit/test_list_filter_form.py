"""The list filter's selects accept and refuse exactly what WTForms' own choice check does, with its message."""

from __future__ import annotations

from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField
from wtforms.validators import Optional

from webapp.tasks.forms import ListFilterForm


class _Checked(FlaskForm):  # the same selects checked by SelectField itself
    class Meta:
        csrf = False

    status = SelectField("Status", choices=ListFilterForm.status.kwargs["choices"], default="", validators=[Optional()])
    priority = SelectField("Priority", choices=ListFilterForm.priority.kwargs["choices"], default="",
                           validators=[Optional()])
    sort = SelectField("Sort", choices=ListFilterForm.sort.kwargs["choices"], default="updated",
                       validators=[Optional()])


def test_each_filter_select_is_valid_and_in_error_exactly_as_selectfield_checks_it():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test")
    cases = [{}, {"status": "completed"}, {"status": ""}, {"sort": ""}, {"status": "bogus"}, {"priority": "HIGH"},
             {"sort": "due", "priority": "low"}, {"sort": "<b>x</b>"}, {"status": "pending", "sort": "nope"}]
    for args in cases:
        with app.test_request_context("/"):
            ours, theirs = ListFilterForm(MultiDict(args)), _Checked(MultiDict(args))
            assert ours.validate() == theirs.validate(), args
            for name in ("status", "priority", "sort"):
                assert ours[name].errors == theirs[name].errors, (name, args)
                assert ours[name].data == theirs[name].data
