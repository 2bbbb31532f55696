"""Login throttling on the real stack: counted before the password check, per name and client (an IPv6
client is its /64), per account from every client (slowed, never locked), fail closed."""

from __future__ import annotations

import functools
import http.client
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.conftest import Browser, csrf_token, unique_name

PASSWORD = "correct horse battery"
ATTACKER, OWNER = "127.0.0.1", "127.0.0.2"  # two loopback addresses: two clients as the app sees them


class _FromAddress(urllib.request.HTTPHandler):
    """Connects from a chosen local address (the app sees it as the client's address)."""

    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.address, 0)), req)


class _StopRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, msg, headers, fp)


class Client:
    """One browser: its own cookies, from one address."""

    def __init__(self, base: str, address: str):
        self.base = base
        self.opener = urllib.request.build_opener(_FromAddress(address), _StopRedirects(),
                                                  urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = None

    def open_form(self, path: str) -> None:
        self.token = csrf_token(self.opener.open(self.base + path, timeout=15).read().decode())

    def submit(self, path: str, fields: dict) -> int:
        data = urllib.parse.urlencode({"csrf_token": self.token, **fields}).encode()
        request = urllib.request.Request(self.base + path, data=data)
        try:
            return self.opener.open(request, timeout=30).status
        except urllib.error.HTTPError as err:  # 4xx/5xx, and a redirect (not followed)
            return err.code


def register(stack) -> str:
    name = unique_name("thr")
    client = Client(stack.url(), OWNER)
    client.open_form("/register")
    assert client.submit("/register", {"username": name, "password": PASSWORD, "confirm": PASSWORD,
                                       "timezone": "UTC"}) == 302
    return name


def parallel_logins(stack, name: str, password: str, count: int, address: str) -> list[int]:
    clients = [Client(stack.url(), address) for _ in range(count)]
    for client in clients:
        client.open_form("/login")
    start = threading.Barrier(count)
    codes: list[int] = []

    def attempt(client):
        start.wait()
        codes.append(client.submit("/login", {"username": name, "password": password}))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_parallel_guesses_let_at_most_five_reach_the_password_check(stack):
    name = register(stack)
    codes = parallel_logins(stack, name, "wrong password", 24, ATTACKER)
    print(f"\n[throttling] 24 parallel wrong guesses: {sorted(codes)}")
    checked = codes.count(422)  # "Wrong username or password": the password was checked
    assert len(codes) == 24 and 1 <= checked <= 5, codes
    assert set(codes) <= {422, 429}, codes  # the rest are refused, none slips through or fails
    # Later guesses from the same address are refused too, the right password included.
    late = Client(stack.url(), ATTACKER)
    late.open_form("/login")
    assert late.submit("/login", {"username": name, "password": PASSWORD}) == 429


def test_the_owner_signs_in_from_elsewhere_while_the_attacker_is_throttled(stack):
    name = register(stack)
    for _ in range(6):
        attacker = Client(stack.url(), ATTACKER)
        attacker.open_form("/login")
        attacker.submit("/login", {"username": name, "password": "guess"})
    attacker = Client(stack.url(), ATTACKER)
    attacker.open_form("/login")
    assert attacker.submit("/login", {"username": name, "password": PASSWORD}) == 429
    owner = Client(stack.url(), OWNER)
    owner.open_form("/login")
    assert owner.submit("/login", {"username": name, "password": PASSWORD}) == 302


def sign_in_from(app, address: str, name: str, password: str):
    """One sign-in attempt from a new browser at ``address`` (in-process app, real sidecar)."""
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser.form_post("/login", {"username": name, "password": password})


def test_addresses_of_one_ipv6_64_are_one_client(app, user):
    codes = [sign_in_from(app, f"2001:db8:7:42::{n:x}", user.username, "guess").status_code for n in range(1, 8)]
    assert codes == [422] * 5 + [429] * 2, codes  # rotating inside its /64 buys no sixth guess
    assert sign_in_from(app, "2001:db8:7:42:ffff::1", user.username, PASSWORD).status_code == 429
    # Another /64 is another client: the owner there signs in.
    assert sign_in_from(app, "2001:db8:7:43::1", user.username, PASSWORD).status_code == 302


@pytest.fixture
def fixed_clock(monkeypatch):
    """The throttling's clock, stopped (the in-process app reads it); ``advance`` moves it on."""
    from webapp.auth import throttling
    now = [time.time()]
    monkeypatch.setattr(throttling, "clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds
    return advance


def test_guesses_from_many_addresses_are_slowed_per_account_and_the_owner_gets_in_after_the_wait(
        app, user, fixed_clock):
    free = app.config["LOGIN_ACCOUNT_FREE_ATTEMPTS"]
    codes = [sign_in_from(app, f"198.51.100.{n}", user.username, "guess").status_code for n in range(1, free + 1)]
    assert codes == [422] * free, codes  # the free attempts reach the password check
    slowed = sign_in_from(app, f"198.51.100.{free + 1}", user.username, "guess")
    assert slowed.status_code == 429 and "Try again in 1 second." in slowed.get_data(as_text=True)
    assert slowed.headers["Retry-After"] == "1"
    # The owner, from an address never used, waits too; retrying early uses none of that address's attempts.
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        assert sign_in_from(app, "203.0.113.9", user.username, PASSWORD).status_code == 429
    fixed_clock(1)
    assert sign_in_from(app, "203.0.113.9", user.username, PASSWORD).status_code == 302
    # Each further attempt waits twice as long as the one before, up to the cap.
    waits = []
    for n in range(8):
        resp = sign_in_from(app, "198.51.100.99", user.username, "guess")
        assert resp.status_code == 429, resp.status_code
        waits.append(int(resp.headers["Retry-After"]))
        fixed_clock(waits[-1])
        assert sign_in_from(app, f"198.51.100.{100 + n}", user.username, "guess").status_code == 422
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60], waits  # the owner's sign-in was given back


def test_signing_in_often_is_never_slowed(app, user):
    free = app.config["LOGIN_ACCOUNT_FREE_ATTEMPTS"]
    codes = [sign_in_from(app, "192.0.2.44", user.username, PASSWORD).status_code for _ in range(free + 5)]
    assert codes == [302] * (free + 5), codes  # only failures add up at the account


def test_the_account_count_ends_after_a_quiet_window(app, user, fixed_clock):
    free = app.config["LOGIN_ACCOUNT_FREE_ATTEMPTS"]
    for n in range(free):
        sign_in_from(app, f"198.51.100.{n + 1}", user.username, "guess")
    assert sign_in_from(app, "203.0.113.10", user.username, "guess").status_code == 429
    fixed_clock(app.config["LOGIN_WINDOW_SECONDS"])
    assert sign_in_from(app, "203.0.113.10", user.username, PASSWORD).status_code == 302


def test_a_failed_attempt_racing_a_sign_in_does_not_bring_back_the_count_it_read(app, user, gateway, monkeypatch):
    limit = app.config["LOGIN_MAX_FAILURES"]
    address = "198.51.100.250"
    for _ in range(limit - 1):
        assert sign_in_from(app, address, user.username, "guess").status_code == 422
    key = f"login-attempts:{user.username.lower()}:{address}"
    real_save = gateway.save
    raced: dict = {}

    def save(saved_key, *args, **kwargs):  # the owner signs in between this guess's read and its write
        if saved_key == key and not raced:
            raced["owner"] = None
            owner = threading.Thread(target=lambda: raced.update(
                owner=sign_in_from(app, address, user.username, PASSWORD).status_code))
            owner.start()
            owner.join()
        return real_save(saved_key, *args, **kwargs)

    monkeypatch.setattr(gateway, "save", save)
    assert sign_in_from(app, address, user.username, "guess").status_code == 422
    assert raced["owner"] == 302
    # The sign-in started the count again: the guess that read the old count is the one attempt counted.
    assert gateway.get(key).value["count"] == 1
    assert sign_in_from(app, address, user.username, PASSWORD).status_code == 302
