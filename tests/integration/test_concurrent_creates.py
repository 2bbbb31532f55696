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


def test_a_create_that_cannot_update_the_index_is_a_503_with_retry_after_on_page_and_api(app, user, gateway):
    """Another request holds the lock that creates this new user's index through every retry: nothing is stored."""
    from webapp.tasks import store
    with user.client.session_transaction() as session:
        owner = session["profile"]["id"]
    headers = {"Authorization": f"Bearer {make_token(user, 'busy')}"}
    with gateway.lock(f"create:{store.index_key(owner)}", "another-request", expiry_seconds=30):
        page = user.form_post("/tasks/new", {"title": "Not now", "status": "pending", "priority": "medium",
                                             "recurrence": "none"})
        api = user.client.post("/api/v1/tasks", json={"title": "Not now either"}, headers=headers)
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "try again" in page.get_data(as_text=True)
    assert api.status_code == 503 and api.headers["Retry-After"] and api.get_json()["status"] == 503
    assert user.client.get("/api/v1/tasks", headers=headers).get_json()["items"] == []
    created = user.client.post("/api/v1/tasks", json={"title": "Now"}, headers=headers)
    assert created.status_code == 201  # the lock is free again
