"""Benchmark-only Flask app: the floor of a server-rendered page on this stack (``make bench``'s ``floor``).

NOT part of Taskboard, never imported by webapp/. bench/run.py serves it under gunicorn with the app's own
gunicorn.conf.py (same workers, threads and preloading) beside the stack. One route does what the list page
cannot do with less: the same ONE sidecar call (a bulk get of the board's index, the inbox head and the user,
through one DaprClient per worker), the first page of rows picked from the index, and the page rendered from
one template compiled at import, padded to the size of the real page:

    GET /page?user=U&size=N   200, an HTML page of about N bytes (the size of Taskboard's list page)
    GET /healthz              200
"""

from __future__ import annotations

import json
import os
import threading

from dapr.clients import DaprClient
from flask import Flask, request

STATE_STORE = "statestore"
PAGE = 20

app = Flask(__name__)
TEMPLATE = app.jinja_env.from_string(
    "<!doctype html><html><head><title>Tasks</title></head><body><main><h1>Tasks ({{ unread }} unread)</h1>"
    "<table>{% for id, row in rows %}<tr><td><a href=\"/tasks/{{ id }}\">{{ row[0] }}</a></td>"
    "{% for cell in row[1:] %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</table>"
    "<p>{{ padding }}</p></main></body></html>")

_padding: dict[tuple[str, int], str] = {}
_client = None
_client_pid = None
_client_lock = threading.Lock()


def client() -> DaprClient:
    """One DaprClient per worker process, created after the fork (like webapp's gateway)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _client_lock:
            if _client is None or _client_pid != os.getpid():
                _client, _client_pid = DaprClient(), os.getpid()
    return _client


def first_rows(index: dict | None) -> list[tuple[str, list]]:
    """The first page of (task id, row) pairs, in the index's order."""
    index = index or {}
    rows = index.get("rows") or {}
    return [(tid, rows.get(tid) or [tid]) for tid in (index.get("ids") or [])[:PAGE]]


@app.get("/healthz")
def healthz():
    return "ok"


@app.get("/page")
def page():
    user = request.args["user"]
    keys = [f"tasks-of:{user}", f"inbox:{user}", f"user:{user}"]
    resp = client().get_bulk_state(STATE_STORE, keys, parallelism=3)
    data = {it.key: json.loads(it.data) if it.data else None for it in resp.items}
    inbox = data.get(f"inbox:{user}") or {}
    rows = first_rows(data.get(f"tasks-of:{user}"))
    size = int(request.args.get("size", 0))
    padding = _padding.get((user, size))
    body = TEMPLATE.render(rows=rows, unread=len(inbox.get("items") or []), padding=padding or "")
    if padding is None:  # the first request of this page measures how much padding reaches the size
        _padding[(user, size)] = "x" * max(0, size - len(body))
    return body
