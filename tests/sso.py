"""The tests' real OpenID Connect provider (zitadel/oidc's example server, built by
scripts/provision-oidc-provider.sh) and a stack whose web app signs in with it.

The provider's clients are fixed in its code: ``web`` with secret ``secret`` (HTTP Basic), whose redirect
URIs come from its REDIRECT_URI variable; its users come from a USERS_FILE written here (``person01`` …
``person12``, password ``verysecure``), so each test signs in as a person no other test uses.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import devstack
from tests.conftest import ROOT, running_stack_at

CLIENT_ID, CLIENT_SECRET, PASSWORD = "web", "secret", "verysecure"
LABEL = "Example SSO"
PEOPLE = [f"person{n:02d}" for n in range(1, 13)]
TIMES: dict[str, float] = {}  # provision / start seconds, printed by the tests that measure them


def provider_binary() -> Path:
    started = time.monotonic()
    out = subprocess.run(["bash", str(ROOT / "scripts/provision-oidc-provider.sh")], check=True,
                         stdout=subprocess.PIPE, text=True)
    TIMES["provision_seconds"] = time.monotonic() - started
    return Path(out.stdout.strip().splitlines()[-1])


def _users_file(directory: Path) -> Path:
    people = {f"id-{name}": {"ID": f"id-{name}", "Username": name, "Password": PASSWORD, "FirstName": "Person",
                             "LastName": name[-2:], "Email": f"{name}@example.org", "EmailVerified": True,
                             "PreferredLanguage": "en", "IsAdmin": False} for name in PEOPLE}
    path = directory / "oidc-users.json"
    path.write_text(json.dumps(people))
    return path


@contextmanager
def running_provider(directory: Path, redirect_uris: list[str]):
    """The provider on a free loopback port; yields its issuer (``http://localhost:<port>/``)."""
    binary = provider_binary()
    port = devstack.free_port()
    issuer = f"http://localhost:{port}/"
    log = open(directory / "oidc-provider.log", "ab")
    started = time.monotonic()
    proc = subprocess.Popen([str(binary)], env={"PORT": str(port), "REDIRECT_URI": ",".join(redirect_uris),
                                                "USERS_FILE": str(_users_file(directory)), "PATH": "/usr/bin:/bin"},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{issuer}.well-known/openid-configuration", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the OIDC provider did not start (see {directory}/oidc-provider.log)")
                time.sleep(0.05)
        TIMES["start_seconds"] = time.monotonic() - started
        yield issuer
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def components_with_provider(directory: Path, issuer: str) -> Path:
    """components/ plus the provider's HTTP binding (components-alt/oidc-provider.yaml, its url set)."""
    target = directory / "components-sso"
    target.mkdir()
    for path in (ROOT / "components").glob("*.yaml"):
        shutil.copy(path, target / path.name)
    origin = issuer.rstrip("/")
    binding = (ROOT / "components-alt/oidc-provider.yaml").read_text()
    (target / "oidc-provider.yaml").write_text(re.sub(r'value: "https://login\.example\.org"',
                                                      f'value: "{origin}"', binding))
    return target


@dataclass
class SsoStack:
    stack: object
    issuer: str

    def app_settings(self, **overrides) -> dict:
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_PROVIDER_LABEL": LABEL, **overrides}

    def app_url(self) -> str:
        return self.stack.url()


@contextmanager
def running_sso_stack(request):
    """A provider, and a stack whose sidecar has its binding and client secret and whose app uses it."""
    directory = Path(tempfile.mkdtemp(prefix="taskboard-sso-"))
    ports = devstack.Ports.free()
    app_port = ports.apps["taskboard"].app
    redirects = ["http://localhost/login/oidc/callback", f"http://127.0.0.1:{app_port}/login/oidc/callback"]
    try:
        with running_provider(directory, redirects) as issuer:
            run_dir = directory / "run"
            run_dir.mkdir()
            (run_dir / "secrets.json").write_text(json.dumps({"flask-secret-key": secrets.token_urlsafe(48),
                                                              "oidc-client-secret": CLIENT_SECRET}))
            env = {"TASKBOARD_OIDC_ISSUER": issuer, "TASKBOARD_OIDC_CLIENT_ID": CLIENT_ID,
                   "TASKBOARD_OIDC_PROVIDER_LABEL": LABEL}
            with running_stack_at(request, run_dir, ports, logs_name="logs-sso", app_env=env,
                                  components_dir=components_with_provider(directory, issuer)) as stack:
                yield SsoStack(stack, issuer)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in_at_provider(auth_url: str, person: str, password: str = PASSWORD) -> str:
    """Go through the provider's login page as ``person``; the URL it sends the browser back to (the app's
    callback with code and state), or raises ``AssertionError`` if it does not."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)
    url, data = auth_url, None
    for _ in range(10):
        try:
            resp = opener.open(urllib.request.Request(url, data=data), timeout=10)
        except urllib.error.HTTPError as redirect:
            if redirect.code not in (301, 302, 303, 307):
                raise AssertionError(f"provider answered {redirect.code} at {url}") from None
            url, data = urllib.parse.urljoin(url, redirect.headers["Location"]), None
            if "/login/oidc/callback" in url:
                return url
            continue
        page = resp.read().decode()
        request_id = re.search(r'name="id" value="([^"]+)"', page)
        assert request_id, f"no login form at {url}"
        url = urllib.parse.urljoin(url, "/login/username")
        data = urllib.parse.urlencode({"id": request_id.group(1), "username": person, "password": password}).encode()
    raise AssertionError("the provider never sent the browser back")
