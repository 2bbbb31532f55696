"""webapp.base.escape, the templates' escape, gives what MarkupSafe's does, and the apps' templates use it."""

import markupsafe
import pytest
from flask import Flask, render_template_string
from jinja2 import Undefined

from webapp import base



class HasHtml:
    def __html__(self):
        return "<b>safe</b>"


class Plain:
    def __str__(self):
        return "<i>'plain' & \"quoted\"</i>"


@pytest.mark.parametrize("value", ["", "plain", "<script>alert('x') & \"y\"</script>", "é ✓ \u2028", 12, 1.5, None,
                                   True, markupsafe.Markup("<em>kept</em>"), HasHtml(), Plain(), Undefined(),
                                   ["<a>"], {"k": "<v>"}])
def test_escape_is_markupsafes(value):
    ours, theirs = base.escape(value), markupsafe.escape(value)
    assert ours == theirs
    assert type(ours) is type(theirs) is markupsafe.Markup


def test_a_str_subclass_is_escaped_as_markupsafe_does():
    class Name(str):
        pass
    assert base.escape(Name("<x>")) == markupsafe.escape(Name("<x>")) == "&lt;x&gt;"


def test_the_apps_templates_escape_with_it():
    app = base.TaskboardFlask(__name__)
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ v }}{% macro m(x) %}<p>{{ x }}</p>{% endmacro %}{{ m(v) }}")
        assert template.root_render_func.__globals__["escape"] is base.escape
        html = render_template_string("{{ v }}|{{ s }}", v="<b>&'\"", s=markupsafe.Markup("<br>"))
    assert html == "&lt;b&gt;&amp;&#39;&#34;|<br>"
    assert template.render(v="<a>") == "&lt;a&gt;<p>&lt;a&gt;</p>"


def test_flasks_own_templates_are_unchanged():
    app = Flask(__name__)
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ v }}")
    assert template.root_render_func.__globals__["escape"] is markupsafe.escape
