"""Login throttling shared by all workers: per name and client, and per account from every client together.

    login-attempts:<name>:<client>  {count, first_at}   — with a TTL: the window
    login-account:<name>            {count, last_at}    — with a TTL: the quiet time that ends the count

A client is an IPv4 address, or the /64 of an IPv6 one (a single host is given a whole
/64, so its addresses are one client). Per name and client: LOGIN_MAX_FAILURES attempts
(5) in a window of LOGIN_WINDOW_SECONDS (15 minutes) from the first, then refused until
the window ends; the owner elsewhere is not affected. Per account: LOGIN_ACCOUNT_FREE_ATTEMPTS
(20) attempts from all clients, then each one must come 1, 2, 4 … seconds, at most
LOGIN_ACCOUNT_MAX_DELAY_SECONDS (60), after the one before ("try again in N seconds"),
so guesses from many addresses slow to about one a minute while the owner waits a minute
at most; a successful attempt is given back, and the count ends after a quiet window. Every attempt is counted before the
password is checked, so parallel guesses cannot slip past either limit, and one that
cannot be counted is refused (fail closed).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from flask import current_app

from ..dapr_gateway import Conflict
from ..keys import login_account_key, login_attempts_key
from ..sidecar import gateway, retry_on_conflict

log = logging.getLogger(__name__)
clock = time.time  # seconds since the epoch; the one time source of the counts (a test may fix it)


class Throttled(RuntimeError):
    """Too many login attempts at this name from this client (or the attempt could not be counted)."""


class Slowed(Throttled):
    """Too many login attempts at this account from everywhere: the next one may come in ``seconds``."""

    def __init__(self, username: str, seconds: int):
        super().__init__(username)
        self.seconds = seconds


@dataclass(frozen=True)
class Limits:
    """The throttling numbers (from the app's config)."""

    client_attempts: int = 5
    window_seconds: int = 900
    account_free_attempts: int = 20
    account_max_delay_seconds: int = 60

    @classmethod
    def from_config(cls, config) -> "Limits":
        """The limits set in ``config`` (the ``LOGIN_*`` settings)."""
        return cls(int(config["LOGIN_MAX_FAILURES"]), int(config["LOGIN_WINDOW_SECONDS"]),
                   int(config["LOGIN_ACCOUNT_FREE_ATTEMPTS"]), int(config["LOGIN_ACCOUNT_MAX_DELAY_SECONDS"]))


def client_of(address: str) -> str:
    """The client an address counts as: an IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def client_counted(record: dict | None, now: float, limits: Limits) -> dict:
    """The client's record with one more attempt; ``Throttled`` when its window's attempts are used up."""
    record = record or {}
    first = record.get("first_at", now)
    count = record.get("count", 0) if now - first < limits.window_seconds else 0
    if count >= limits.client_attempts:
        raise Throttled("client")
    return {"count": count + 1, "first_at": first if count else now}


def account_wait(record: dict | None, now: float, limits: Limits) -> int:
    """Whole seconds before the account takes its next attempt (0: now)."""
    record = record or {}
    last = record.get("last_at", now)
    count = record.get("count", 0) if now - last < limits.window_seconds else 0
    if count < limits.account_free_attempts:
        return 0
    delay = min(limits.account_max_delay_seconds, 2 ** min(count - limits.account_free_attempts, 30))
    return max(0, math.ceil(delay - (now - last)))


def account_counted(record: dict | None, now: float, limits: Limits) -> dict:
    """The account's record with one more attempt; ``Slowed`` when it came too soon after the last."""
    wait = account_wait(record, now, limits)
    if wait:
        raise Slowed("account", wait)
    record = record or {}
    count = record.get("count", 0) if now - record.get("last_at", now) < limits.window_seconds else 0
    return {"count": count + 1, "last_at": now}


def reserve(username: str, address: str) -> None:
    """Count one login attempt at ``username`` from ``address`` before its password is checked.

    Raises ``Throttled`` when this client used up its attempts or the attempt could not be
    counted, ``Slowed`` when the account takes no attempt yet (how long is in the error).
    A client already refused is answered without a write, and one slowed by the account
    uses none of its own attempts (the owner waiting for the account is not locked out).
    """
    limits = Limits.from_config(current_app.config)
    client_key = login_attempts_key(username, client_of(address))
    if _refused(gateway().get(client_key).value, limits):
        raise Throttled(username)
    try:
        _count(login_account_key(username), account_counted, limits, ttl=lambda value: limits.window_seconds)
    except Conflict as err:  # contended beyond every retry: a burst of guesses at this account
        raise Slowed(username, 1) from err
    except Slowed as slowed:
        raise Slowed(username, slowed.seconds) from None
    try:
        _count(client_key, client_counted, limits,
               ttl=lambda value: limits.window_seconds - (clock() - value["first_at"]))
    except Conflict as err:  # contended beyond every retry: a parallel guessing burst
        raise Throttled(username) from err
    except Throttled:
        raise Throttled(username) from None


def signed_in(username: str, address: str) -> None:
    """A successful sign-in: its client's count starts again and the account gets its attempt back,
    so only failures add up (a user signing in often is never slowed).

    Both are written over the version read, never deleted: a guess that read a count
    before would write it back into a missing key, where an ETag is no guard on Redis.
    A change that keeps losing races is logged; the count then ends with its window.
    """
    window = Limits.from_config(current_app.config).window_seconds
    _lower(login_attempts_key(username, client_of(address)), lambda value: {"count": 0, "first_at": clock()},
           ttl=lambda value: window)
    _lower(login_account_key(username), lambda value: {**value, "count": value["count"] - 1},
           ttl=lambda value: window - (clock() - value["last_at"]))


def _lower(key: str, lowered, ttl) -> None:
    """Write ``lowered(record as read)`` over a record with a count, ETag-guarded; a race lost is logged."""
    def attempt() -> None:
        item = gateway().get(key)
        if item.exists and item.value.get("count"):
            value = lowered(item.value)
            gateway().save(key, value, etag=item.etag, ttl_seconds=max(1, math.ceil(ttl(value))))

    try:
        retry_on_conflict(attempt, key.split(":", 1)[0])
    except Conflict as err:
        log.warning("%s not lowered after a sign-in: %s", key, err)


def _refused(record: dict | None, limits: Limits) -> bool:
    try:
        client_counted(record, clock(), limits)
    except Throttled:
        return True
    return False


def _count(key: str, counted, limits: Limits, ttl) -> None:
    """Write ``counted(record as read)`` over the record, ETag-guarded; ``Conflict`` past every retry."""
    def attempt() -> None:
        item = gateway().get(key)
        value = counted(item.value, clock(), limits)
        ttl_seconds = max(1, math.ceil(ttl(value)))
        if item.exists:
            gateway().save(key, value, etag=item.etag, ttl_seconds=ttl_seconds)
        else:  # a missing key takes any write, ETag or not: insert-if-absent (Conflict if someone was first)
            gateway().create(key, value, ttl_seconds=ttl_seconds)

    retry_on_conflict(attempt, key.split(":", 1)[0])
