"""Fixtures shared by every suite.

The stack (Redis, Dapr scheduler, a daprd per app, both apps under gunicorn)
starts once per test session on free ports, so it never collides with a
running `make run`. Its logs are copied to test-artifacts/logs when a test fails.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import devstack  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"


def pytest_report_header(config):
    """The Dapr runtime the integration tests will use, if it is already provisioned.

    Never builds it: unit tests run on a fresh clone without Go. The `stack`
    fixture provisions (builds if needed) when an integration test asks for it.
    """
    out = subprocess.run(["bash", str(ROOT / "scripts/provision-dapr.sh"), "--find-only"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return "daprd: not provisioned yet (the stack fixture provisions it when an integration test needs it)"
    bin_dir = Path(out.stdout.strip().splitlines()[-1])
    version = subprocess.run([str(bin_dir / "daprd"), "--version"], capture_output=True, text=True).stdout.strip()
    return [f"daprd {version.splitlines()[-1]}, scheduler and placement from {bin_dir}",
            f"data tier: TASKBOARD_STACK={devstack.stack_name()} ({', '.join(devstack.STACKS_SERVERS[devstack.stack_name()])})"]


# What each suite needs to run, as markers (pytest.ini registers them; `-m "not stack"` runs what needs none).
SUITE_NEEDS = {
    "unit": (),
    "integration": ("stack",),
    "security": ("stack",),
    "faults": ("stack",),
    "browser": ("stack", "browser"),
    "scale": ("second_stack",),
    "consistency": ("second_stack",),
    "deploy": ("tools",),
    "k8s": ("cluster",),
}


def pytest_collection_modifyitems(config, items):
    """Mark each test with what its suite (its folder under tests/) needs."""
    for item in items:
        suite = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts[0]
        for need in SUITE_NEEDS.get(suite, ()):
            item.add_marker(need)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.session.config._taskboard_failed = True


@contextmanager
def running_stack(request, replicas: int = 1, logs_name: str = "logs"):
    """A started stack on free ports (``replicas`` instances of each app); stopped afterwards, its logs
    kept in test-artifacts/<logs_name> when a test failed. Its data tier is TASKBOARD_STACK's (default redis)."""
    run_dir = Path(tempfile.mkdtemp(prefix="taskboard-test-"))
    try:
        with running_stack_at(request, run_dir, devstack.Ports.free(replicas), logs_name) as the_stack:
            yield the_stack
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@contextmanager
def running_stack_at(request, run_dir: Path, ports, logs_name: str = "logs", app_env: dict | None = None,
                     components_dir: Path | None = None):
    """``running_stack`` in ``run_dir`` on ``ports``, with extra app settings and another components directory."""
    the_stack = devstack.Stack(run_dir, ports, app_token=secrets.token_urlsafe(16), workers=2,
                               daprd_log_level="info", app_env={"TASKBOARD_LOG_FORMAT": "json", "TASKBOARD_BOARD_ACTORS": "1", **(app_env or {})},
                               components_dir=components_dir)
    started = False
    try:
        the_stack.start()  # a start that fails keeps its logs too
        started = True
        yield the_stack
    finally:
        the_stack.stop()
        if not started or getattr(request.config, "_taskboard_failed", False):
            target = ARTIFACTS / logs_name
            shutil.rmtree(target, ignore_errors=True)
            if the_stack.logs_dir.exists():
                shutil.copytree(the_stack.logs_dir, target)
            print(f"\n[stack] a test failed: logs kept in {target}")


@contextmanager
def gateway_of(the_stack):
    """A gateway to the stack's (first) taskboard sidecar, inside an app context."""
    from webapp.app import create_app
    app = create_app(app_config(the_stack))
    with app.app_context():
        yield app.extensions["dapr"]


@pytest.fixture(scope="session")
def stack(request):
    """The real stack for this test session."""
    with running_stack(request) as the_stack:
        yield the_stack


def app_config(stack, **overrides) -> dict:
    ports = stack.ports.apps["taskboard"]
    # The suite runs the shared boards' actor path (off by default in production, see config.BOARD_ACTORS);
    # the optimistic path is what every fallback and personal board takes.
    return {"DAPR_GRPC_PORT": ports.grpc, "DAPR_HTTP_PORT": ports.http, "APP_API_TOKEN": stack.app_token, "TESTING": True,
            "BOARD_ACTORS": True, **overrides}


@pytest.fixture(scope="session")
def app(stack):
    """The web app in-process, talking to the taskboard sidecar of the stack."""
    from webapp.app import create_app
    return create_app(app_config(stack))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def gateway(app):
    return app.extensions["dapr"]


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def without_csrf(html: str) -> str:
    """The page with its CSRF token masked: the token is signed with the current second, so two pages rendered
    a second apart differ there (and nowhere that could tell an outsider anything)."""
    return html.replace(csrf_token(html), "<csrf>")


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Browser:
    """A signed-in (or not) user driving the app through the Flask test client."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def form_post(self, url, data, page_url=None, **kw):
        """POST a form the way a browser does: with the CSRF token of the page it came from."""
        page = self.client.get(page_url or url)
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post(url, data={"csrf_token": token, **data}, **kw)

    def register(self, username=None, password="correct horse battery", tz="UTC"):
        username = username or unique_name()
        resp = self.form_post("/register", {"username": username, "password": password, "confirm": password,
                                            "timezone": tz})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        self.username = username
        return username

    def create_task(self, **fields) -> str:
        data = {"title": "A task", "description": "", "status": "pending", "priority": "medium",
                "tags": "", "due_at": "", "remind_at": "", "recurrence": "none", **fields}
        resp = self.form_post("/tasks/new", data)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
        return resp.headers["Location"].rsplit("/", 1)[-1]

    def version_of(self, task_id: str) -> str:
        html = self.get(f"/tasks/{task_id}").get_data(as_text=True)
        return re.search(r'name="version" value="([^"]*)"', html).group(1)

    def action(self, task_id: str, action: str, version: str | None = None):
        version = self.version_of(task_id) if version is None else version
        return self.form_post(f"/tasks/{task_id}/{action}", {"version": version}, page_url=f"/tasks/{task_id}")


@pytest.fixture
def user(app):
    """A freshly registered, signed-in user."""
    browser = Browser(app.test_client())
    browser.register()
    return browser


@pytest.fixture
def owner(user, app):
    """The signed-in user's id, inside an app context (to call the service layer and the store directly)."""
    with app.app_context():
        with user.client.session_transaction() as session:
            user_id = session["profile"]["id"]
        yield user_id


@pytest.fixture
def other_user(app):
    browser = Browser(app.test_client())
    browser.register()
    return browser


@pytest.fixture
def anonymous(app):
    return Browser(app.test_client())


def cleared(gateway, stack, key: str) -> bool:
    """A gone task's or account's key holds its empty "gone" value (``webapp.sidecar.clear_for_good``, or a
    document marked purging) and expires within ``GONE_TTL_SECONDS``: no writer that read it before can write
    it back."""
    from webapp.keys import GONE_TTL_SECONDS
    value = gateway.get(key).value
    empty = ({"items": []}, {"users": []}, {}, {"boards": {}}, {"enabled": False})
    gone = value is not None and (bool(value.get("purging")) or value in empty
                                  or (value.get("deleted") is True and set(value) <= {"id", "members", "deleted"}
                                      and not value.get("members")))
    return gone and 0 < stack.ttl_of(key) <= GONE_TTL_SECONDS


def eventually(check, timeout=30.0, interval=0.2):
    """Poll ``check`` until it returns a truthy value; fail with the last value after ``timeout``."""
    import time
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def free_port_pair() -> tuple[int, int]:
    """Two ports nothing listens on (a sidecar that is not there)."""
    return devstack.free_port(), devstack.free_port()
