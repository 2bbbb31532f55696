"""The list filter's selects accept and refuse exactly what WTForms' own choice check does, with its message."""

from __future__ import annotations

from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField
from wtforms.validators import Optional

from webapp.tasks.forms import ListFilterForm, list_filters


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


def test_a_query_without_filters_shares_one_valid_form_of_defaults_that_renders_as_a_fresh_one():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test")
    names = ("q", "status", "priority", "tag", "sort", "page")
    with app.test_request_context("/"):
        shared, valid = list_filters(MultiDict())
        again, valid_again = list_filters(MultiDict())
        fresh = ListFilterForm(MultiDict())
        assert fresh.validate() and valid and valid_again and again is shared
        assert shared.data == fresh.data and [str(shared[n]()) for n in names] == [str(fresh[n]()) for n in names]
        filtered, filtered_valid = list_filters(MultiDict({"status": "bogus"}))
        assert filtered is not shared and not filtered_valid and filtered.status.errors
        assert not shared.errors and shared.status.data == ""
