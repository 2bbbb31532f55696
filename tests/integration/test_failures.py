"""Infrastructure trouble: a 503 page (or JSON), never a traceback; readiness says so."""

from __future__ import annotations

import time

from webapp.app import create_app
from tests.conftest import Browser, free_port_pair


def dead_sidecar_app():
    grpc_port, http_port = free_port_pair()
    return create_app({"TESTING": True, "DAPR_GRPC_PORT": grpc_port, "DAPR_HTTP_PORT": http_port,
                       "DAPR_HEALTH_TIMEOUT_SECONDS": 0.5, "DAPR_TIMEOUT_SECONDS": 1.0})


def test_pages_answer_503_when_the_sidecar_is_down():
    app = dead_sidecar_app()
    client = app.test_client()
    resp = client.get("/login")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 503 and "Temporarily unavailable" in html and "Traceback" not in html
    assert resp.headers["Retry-After"] == "5"


def test_readiness_is_503_and_liveness_200_when_the_sidecar_is_down():
    client = dead_sidecar_app().test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"


def test_a_form_post_during_an_outage_gets_503_and_later_works(app, stack):
    browser = Browser(app.test_client())
    browser.register()
    token_page = browser.get("/tasks/new").get_data(as_text=True)
    stack.stop(stack.state_server)
    try:
        from tests.conftest import csrf_token
        from webapp.dapr_gateway import GatewayError
        with app.app_context():  # the outage has begun once a read fails (a stopping server may still answer)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    app.extensions["dapr"].get("outage-probe")
                except GatewayError:
                    break
                time.sleep(0.2)
        resp = browser.client.post("/tasks/new", data={"csrf_token": csrf_token(token_page), "title": "During outage",
                                                       "status": "pending", "priority": "low", "recurrence": "none"})
        assert resp.status_code == 503 and "Nothing was lost" in resp.get_data(as_text=True)
    finally:
        stack.restart(stack.state_server)
    task_id = browser.create_task(title="After outage")
    assert browser.get(f"/tasks/{task_id}").status_code == 200
