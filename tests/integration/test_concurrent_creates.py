"""A burst of creates by one user through the stack's gunicorn: each succeeds or is a clean 503, never a 409.

Every create adds the task to its owner's index (one ETag-guarded transaction),
so concurrent creates by one user contend for that key.
"""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.faults.test_faults import Http
from tests.integration.test_api import make_token

BURST = 48


@pytest.fixture
def http(user, stack):
    return Http(stack.url(), make_token(user, "burst"))


def test_a_burst_of_creates_by_one_user_is_never_a_409(http):
    marker = uuid.uuid4().hex[:8]

    def create(i):
        return http.call("POST", "/api/v1/tasks", {"title": f"burst-{marker}-{i}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        answers = list(pool.map(create, range(BURST)))
    statuses = Counter(status for status, _, _ in answers)
    print(f"\n{BURST} concurrent creates by one user: {dict(statuses)}")
    assert set(statuses) <= {201, 503}, statuses
    assert all(headers.get("Retry-After") for status, _, headers in answers if status == 503)
    created = {body["id"] for status, body, _ in answers if status == 201}
    listed = {t["id"] for t in http.call("GET", "/api/v1/tasks?per_page=100")[1]["items"]}
    # Every 201 is listed: the user's first creates race to create their index, too.
    assert created and created <= listed


def test_a_create_that_stays_busy_is_a_503_with_retry_after_on_page_and_api(stack):
    """What a create answers when its owner's index kept changing through every retry (store.insert's Busy)."""
    from tests.conftest import app_config
    from webapp.app import create_app
    from webapp.errors import Busy
    app = create_app(app_config(stack))

    def busy():
        raise Busy("index of someone kept changing")
    app.add_url_rule("/tasks/busy-probe", "busy_page", busy)
    app.add_url_rule("/api/v1/busy-probe", "busy_api", busy)
    client = app.test_client()
    page, api = client.get("/tasks/busy-probe"), client.get("/api/v1/busy-probe")  # GET: no CSRF in the way
    assert page.status_code == api.status_code == 503
    assert page.headers["Retry-After"] == api.headers["Retry-After"] == "1"
    assert "try again" in page.get_data(as_text=True) and page.mimetype == "text/html"
    assert api.get_json()["status"] == 503
