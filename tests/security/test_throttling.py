"""Login throttling through real HTTP against the stack's gunicorn: counted before the password check,
per name and client address, fail closed."""

from __future__ import annotations

import functools
import http.client
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from tests.conftest import csrf_token, unique_name

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
