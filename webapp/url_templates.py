"""``url_for`` from a template per endpoint: the URL of a path-only route built once, then filled per call.

A page links each of its rows (a task's page, its Complete form, its Edit page) and its navigation (a route
without values: its URL is the template itself): werkzeug's builder runs the
blueprint lookup, the URL defaults, rule selection and quoting for every one of them. For a route with a single
rule, no defaults and every value a path segment, the result is the rule's URL with each value's converted text in
its place; the app builds that once per (endpoint, argument names, script root) with marker values and fills it
with ``converter.to_url(value)``, which is what werkzeug's builder itself calls (a value of unreserved characters
only is its own URL text for werkzeug's converters: quoting leaves it as it is). Anything else (an anchor, a
method, a scheme, an external URL, a relative endpoint, a query argument, a value that is not a string, an
endpoint with several rules or defaults, registered URL defaults) goes to Flask's ``url_for`` unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.globals import _cv_request
from werkzeug.routing import BaseConverter

_MARK = "urltemplatemark"
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")  # what urllib's quote never changes
_UNTEMPLATED = object()  # cache value: this (endpoint, names, script root) always goes to Flask's url_for


class TemplatedUrlFlask(Flask):
    """Flask whose ``url_for`` fills a cached template for path-only routes (the same URL, built cheaper)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._url_templates: dict[tuple, Any] = {}

    def url_for(self, endpoint: str, /, *, _anchor: str | None = None, _method: str | None = None,
                _scheme: str | None = None, _external: bool | None = None, **values: Any) -> str:
        """The URL of ``endpoint`` with ``values``; raises what Flask's ``url_for`` raises (``BuildError``)."""
        ctx = _cv_request.get(None)
        if (ctx is None or ctx.url_adapter is None or _anchor is not None or _method is not None or _scheme is not None
                or _external or endpoint[:1] == "."):
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        key = (endpoint, ctx.url_adapter.script_name, *values)
        template = self._url_templates.get(key)
        if template is None:
            template = self._url_templates[key] = self._url_template(endpoint, tuple(values))
        if template is _UNTEMPLATED:
            return super().url_for(endpoint, **values)
        parts, converters = template
        url = parts[0]
        for at, (name, converter, quotes_only) in enumerate(converters, 1):
            value = values[name]
            if type(value) is not str:
                return super().url_for(endpoint, **values)
            # werkzeug's own to_url is urllib's quote, which leaves unreserved characters (a task id) as they are
            url += (value if quotes_only and _UNRESERVED.fullmatch(value) else converter.to_url(value)) + parts[at]
        return url

    def _url_template(self, endpoint: str, names: tuple[str, ...]):
        """(literal parts, [(name, converter)] in URL order) for ``endpoint`` with ``names``, or _UNTEMPLATED."""
        rules = self.url_map._rules_by_endpoint.get(endpoint) or []
        if len(rules) != 1 or rules[0].defaults or any(self.url_default_functions.values()):
            return _UNTEMPLATED
        rule = rules[0]
        if set(names) != set(rule.arguments) or set(names) - set(rule._converters):
            return _UNTEMPLATED
        marks = {name: f"{_MARK}{i}x" for i, name in enumerate(names)}
        try:
            built = super().url_for(endpoint, **marks)
        except Exception:  # noqa: BLE001 - a converter that rejects the marker: build every time instead
            return _UNTEMPLATED
        if "?" in built or "#" in built or any(built.count(mark) != 1 for mark in marks.values()):
            return _UNTEMPLATED
        order = sorted(names, key=lambda name: built.index(marks[name]))
        parts, rest = [], built
        for name in order:
            literal, rest = rest.split(marks[name], 1)
            parts.append(literal)
        parts.append(rest)
        return parts, [(name, rule._converters[name], type(rule._converters[name]).to_url is BaseConverter.to_url)
                       for name in order]
