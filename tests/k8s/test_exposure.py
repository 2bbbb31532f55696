"""The app's Dapr-only routes are closed at the ingress: Traefik answers 403 itself (the Middleware that the
Ingress `taskboard-dapr-routes` names), so the request never reaches the app. Behind it, the app's second line:
whoever reaches the taskboard Service directly is refused without the app token."""

from __future__ import annotations

import pytest

from .conftest import WebUser, through_service

ROUTES = [("GET", "/dapr/subscribe"), ("POST", "/events/task-events"),
          ("POST", "/events/dead-letters"), ("POST", "/job/reminder"), ("POST", "/cron"), ("POST", "/relay"),
          ("GET", "/dapr/config"), ("PUT", "/actors/BoardIndex/b_probe/method/put_row"),
          ("DELETE", "/actors/BoardIndex/b_probe")]
# Headers the app sets on every response (webapp/observability.py, webapp/security.py): their absence shows
# that an answer came from the ingress controller, not from the app.
APP_HEADERS = ("x-request-id", "content-security-policy")


@pytest.mark.parametrize("method, path", ROUTES)
def test_dapr_routes_are_refused_at_the_ingress(ingress, method, path):
    status, headers, text = ingress.user().request(
        method, path, headers={"Content-Type": "application/json"})
    assert status == 403, (status, text[:300])
    assert not [h for h in APP_HEADERS if h in headers], headers


def test_the_app_answers_through_the_ingress(ingress):
    status, headers, text = ingress.user().request("GET", "/login")
    assert status == 200 and "csrf_token" in text
    assert all(h in headers for h in APP_HEADERS), headers


@pytest.mark.parametrize("method, path", ROUTES)
def test_dapr_routes_refuse_callers_through_the_service(service, method, path):
    status, _, text = WebUser(through_service(service)).request(
        method, path, headers={"Content-Type": "application/json"})
    assert status == 401, (status, text[:300])
    assert "missing or invalid dapr-api-token" in text
