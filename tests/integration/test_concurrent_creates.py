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
    """What a create answers when its owner's index kept changing through every retry (creation.insert's Busy)."""
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


def test_a_create_that_gives_up_leaves_none_of_its_keys_behind(app, monkeypatch):
    """Every attempt of a create whose index write keeps losing writes the task, its history and its events under
    fresh keys (a Redis transaction keeps the writes whose guard held); giving up (Busy) removes them all, so no
    unlisted document, history or outbox item of an unacknowledged create is left behind."""
    from webapp.dapr_gateway import Item
    from webapp.errors import Busy
    from webapp.sidecar import gateway
    from webapp.tasks import creation, service
    from webapp.tasks.model import TaskFields
    from webapp.activity import history_key

    real = creation.index_to_change
    monkeypatch.setattr(creation, "index_to_change",
                        lambda board_id: Item(real(board_id).key, real(board_id).value, "987654"))  # a number (the store parses it) that never matches
    monkeypatch.setattr("webapp.sidecar.time.sleep", lambda seconds: None)
    written: list[str] = []
    with app.app_context():
        transact = type(gateway()).transact

    def recording(self, operations, *args, **kwargs):
        written.extend(op.key for op in operations)
        return transact(self, operations, *args, **kwargs)
    with app.app_context():
        monkeypatch.setattr(type(gateway()), "transact", recording)
    with app.app_context():
        with pytest.raises(Busy):
            service.create(f"u-{uuid.uuid4().hex[:8]}", TaskFields(title="never listed"))
        monkeypatch.undo()
        assert [k for k in written if k.startswith("task:")], written
        left = sorted(k for k in set(written) if not k.startswith("tasks-of:") and gateway().get(k).exists)
    assert left == [], f"an unacknowledged create left {left}"
