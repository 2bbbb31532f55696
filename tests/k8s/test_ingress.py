"""https://taskboard.local through Traefik: the certificate is taskboard.local's from the local CA (and is not
trusted without it), plain http is redirected to https, and the app sees the address of the client that
connected to the ingress — X-Forwarded-For is trusted for exactly one hop, the ingress's, so login throttling
counts real clients and a client cannot pick the address it is counted under."""

from __future__ import annotations

import socket
import ssl

import pytest

from ..conftest import csrf_token
from .conftest import HOST, DataTier, WebUser, pods

LOGIN_MAX_FAILURES = 5  # webapp/config.py


def test_the_certificate_is_taskboard_locals_from_the_local_ca(ingress):
    conn = ingress.connection()
    try:
        conn.request("GET", "/login")
        assert conn.getresponse().status == 200
        assert conn.sock.getpeercert()["subjectAltName"] == (("DNS", HOST),)
    finally:
        conn.close()


def test_without_the_local_ca_the_certificate_is_refused(ingress):
    conn = ingress.connection(context=ssl.create_default_context())  # the system's roots only
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/login")
    conn.close()


def test_plain_http_is_redirected_to_https(ingress):
    status, headers, _ = WebUser(lambda timeout: ingress.connection(timeout, tls=False)).request(
        "GET", "/tasks?page=2")
    assert status in (301, 308), (status, headers)
    assert headers["location"] == f"https://{HOST}/tasks?page=2"
    assert "x-request-id" not in headers  # the ingress answered, not the app


def attempt_keys(data_tier: DataTier, username: str) -> set[str]:
    """The client parts of the login-attempt records the app keeps for username (read from the state store)."""
    part = f"login-attempts:{username}:"
    return {key.rsplit(part, 1)[1] for key in data_tier.state_keys(part)}


def failed_login(user: WebUser, username: str, forwarded_for: str) -> int:
    """A login with a wrong password claiming to come from forwarded_for; the status of the POST (422: refused)."""
    status, _, html = user.request("GET", "/login")
    assert status == 200, status
    status, _, _ = user.request("POST", "/login", {"csrf_token": csrf_token(html), "username": username,
                                                  "password": "not the password"},
                                headers={"X-Forwarded-For": forwarded_for})
    return status


def test_the_app_counts_logins_under_the_address_that_reached_the_ingress(ingress, data_tier):
    owner = ingress.user()
    username = owner.register()
    with socket.create_connection((ingress.address, 443), timeout=10) as probe:
        client_address = probe.getsockname()[0]  # the address the ingress sees this client connect from
    traefik = {p["status"]["podIP"] for p in pods("app.kubernetes.io/name=traefik", namespace="traefik")}

    guesser = ingress.user()
    assert failed_login(guesser, username, "203.0.113.7") == 422
    assert attempt_keys(data_tier, username) == {client_address}, (client_address, traefik)
    assert client_address not in traefik

    # Every further guess claims another address: all count against the one real client, which is throttled.
    for n in range(1, LOGIN_MAX_FAILURES):
        assert failed_login(guesser, username, f"203.0.113.{7 + n}") == 422
    assert failed_login(guesser, username, "198.51.100.1") == 429
    assert attempt_keys(data_tier, username) == {client_address}
