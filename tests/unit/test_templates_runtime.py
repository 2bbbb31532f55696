"""The apps' templates: webapp.base.escape gives what MarkupSafe's does, and their context calls as Jinja's does."""

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


def test_the_apps_template_context_calls_as_jinjas_does():
    from jinja2 import pass_context, pass_environment, pass_eval_context

    class Obj:
        def method(self, x, **kw):
            return f"m{x}{sorted(kw)}"

        @pass_context
        def with_context(self, context, x):
            return f"c{context['v']}{x}"

        def __call__(self, x):
            return f"o{x}"

    def stops():
        raise StopIteration

    @pass_context
    def ctx_fn(context, x):
        return f"{context['v']}{x}"

    @pass_environment
    def env_fn(environment, x):
        return f"{environment is not None and hasattr(environment, 'filters')}{x}"

    @pass_eval_context
    def eval_fn(eval_ctx, x):
        return f"{eval_ctx.autoescape}{x}"

    def kw_fn(self=None, obj=None, **kw):
        return f"{self}{obj}{sorted(kw)}"

    source = ("{{ o.method(1, a=2) }}|{{ o.with_context(3) }}|{{ o(4) }}|{{ ctx_fn(5) }}|{{ env_fn(6) }}|"
              "{{ eval_fn(7) }}|{{ kw_fn(self=8, obj=9, z=1) }}|{{ stops() }}|{{ d.get('k', 'none') }}|"
              "{% for i in [1] %}{% set v = 'loop' %}{{ ctx_fn(i) }}{% endfor %}")
    values = dict(o=Obj(), ctx_fn=ctx_fn, env_fn=env_fn, eval_fn=eval_fn, kw_fn=kw_fn, stops=stops, d={}, v="V")
    app = base.TaskboardFlask(__name__)
    with app.test_request_context():
        ours = app.jinja_env.from_string(source).render(values)
    flask_app = Flask(__name__)
    with flask_app.test_request_context():
        theirs = flask_app.jinja_env.from_string(source).render(values)
    assert ours == theirs
    assert ours.startswith("m1[&#39;a&#39;]|cV3|o4|V5|True6|True7|")
    assert "|89[&#39;z&#39;]||none|loop1" in ours
