"""Requests at the edges of what a route expects: reserved query names, bodies not declared JSON."""

from __future__ import annotations

import json


def test_a_list_with_a_reserved_query_name_pages_without_a_server_error(user, app):
    for n in range(app.config["TASKS_PER_PAGE"] + 1):
        user.create_task(title=f"Paged {n}")
    resp = user.get("/tasks?_method=POST&_external=1&status=pending")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Page 1 of 2" in page
    pager = page[page.index('class="pager"'):]
    assert 'href="/tasks?status=pending&amp;page=2" rel="next"' in pager and "_method" not in pager


def test_an_inbound_route_never_parses_a_body_not_declared_json(app, gateway, stack):
    client = app.test_client()
    headers = {"dapr-api-token": stack.app_token}
    probe = json.dumps({"kind": "probe"})
    resp = client.post("/job/plain-text-probe", data=probe, headers={**headers, "Content-Type": "text/plain"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "ignored"
    assert not gateway.get("job-fired:plain-text-probe").exists
    event = json.dumps({"id": "e1", "data": {"type": "notification.sent"}})
    resp = client.post("/events/task-updates", data=event, headers={**headers, "Content-Type": "text/plain"})
    assert resp.get_json()["status"] == "DROP"
    resp = client.post("/job/json-probe", data=probe, headers={**headers, "Content-Type": "application/json"})
    assert resp.get_json()["status"] == "recorded" and gateway.get("job-fired:json-probe").exists
