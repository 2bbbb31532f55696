"""The app's Dapr-only routes are closed to whoever reaches the taskboard Service (only the sidecar, over the
pod's loopback and with the app token, may call them). No ingress controller runs here, so the Ingress's own
403 (ingress-nginx's denylist) is not exercised: this is the app's second line, through the Service."""

from __future__ import annotations

import pytest

from .conftest import WebUser

ROUTES = [("GET", "/dapr/subscribe"), ("POST", "/events/task-events"),
          ("POST", "/events/dead-letters"), ("POST", "/job/reminder"), ("POST", "/cron"), ("POST", "/relay")]


@pytest.mark.parametrize("method, path", ROUTES)
def test_dapr_routes_refuse_callers_through_the_service(service, method, path):
    status, _, text = WebUser(*service).request(method, path, headers={"Content-Type": "application/json"})
    assert status == 401, (status, text[:300])
    assert "missing or invalid dapr-api-token" in text


def test_the_app_answers_through_the_service(service):
    status, _, text = WebUser(*service).request("GET", "/login")
    assert status == 200 and "csrf_token" in text
