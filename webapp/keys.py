"""The data model on one page: every key either app stores in Dapr state, with its value's shape, TTL and owner.

Each builder's docstring reads ``<key pattern> = <value shape>; TTL: <ttl>; owner: <the module that writes it>``
(docs/state-layout.md is checked against these by tests/unit/test_state_layout.py). The sidecar prefixes every
key with its app-id (``taskboard||`` or ``notification-service||``), so the two apps never share a key. Lists of
entries (``{"items": [...]}``) are read and changed through ``state_lists``.
"""

from __future__ import annotations

import hashlib
from datetime import date

# -- accounts ----------------------------------------------------------------------------------------------------


def user_key(user_id: str) -> str:
    """``user:<user id>`` = {id, username, password_hash, timezone, created_at, is_admin, digest_time, email, email_pending, email_prefs, session_generation, theme} or, once deleted, {id, deleted, deleted_at}; TTL: none; owner: auth/users.py."""
    return f"user:{user_id}"


def username_key(username: str) -> str:
    """``username:<lower name>`` = {user_id, claimed_at while registering}; TTL: none; owner: auth/users.py."""
    return f"username:{username.lower()}"


def two_factor_key(user_id: str) -> str:
    """``two-factor:<user id>`` = {enabled: true, secret, confirmed_at, last_step, recovery: [sha256]} or {enabled: false, disabled_at}; TTL: none; owner: accounts/two_factor.py."""
    return f"two-factor:{user_id}"


def two_factor_setup_key(user_id: str) -> str:
    """``two-factor-setup:<user id>`` = {secret, started_at}; TTL: SETUP_SECONDS (15 min); owner: accounts/two_factor.py."""
    return f"two-factor-setup:{user_id}"


def sso_identity_key(issuer: str, subject: str) -> str:
    """``sso-identity:<sha256 of issuer, newline, subject>`` = {user_id, issuer, subject, linked_at}; TTL: none; owner: accounts/sso_accounts.py."""
    return "sso-identity:" + hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()


def sso_identities_of_key(user_id: str) -> str:
    """``sso-identities-of:<user id>`` = {"items": [{id (the link's key), issuer, linked_at}]}; TTL: none; owner: accounts/sso_accounts.py."""
    return f"sso-identities-of:{user_id}"


def token_key(digest: str) -> str:
    """``token:<sha256 of token>`` = {id, name, user_id, username, timezone, created_at, expires_at, last_used_at, listed} or {revoked_at}; TTL: to its expiry, or REVOKED_KEPT once revoked; owner: auth/tokens.py."""
    return f"token:{digest}"


def tokens_of_key(user_id: str) -> str:
    """``tokens-of:<user id>`` = {"items": [{id, name, created_at, expires_at, hash}]}; TTL: none; owner: auth/tokens.py."""
    return f"tokens-of:{user_id}"


def new_token_key(held_id: str) -> str:
    """``new-token:<random id>`` = {"sealed": <hex of the token XOR a pad>}; TTL: HELD_SECONDS (10 min); owner: auth/shown_once.py."""
    return f"new-token:{held_id}"


def login_attempts_key(username: str, client: str) -> str:
    """``login-attempts:<lower name>:<client>`` = {count, first_at}; TTL: the throttling window; owner: auth/throttling.py."""
    return f"login-attempts:{username.lower()}:{client}"


def login_account_key(username: str) -> str:
    """``login-account:<lower name>`` = {count, last_at}; TTL: the quiet time that ends the count; owner: auth/throttling.py."""
    return f"login-account:{username.lower()}"


def email_owner_key(address: str) -> str:
    """``email-owner:<sha256 of the lower-cased address>`` = {user_id}, created first-write at verification; TTL: none; owner: accounts/profile.py."""
    return "email-owner:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()


def security_log_key(user_id: str) -> str:
    """``security-log:<user id>`` = {"items": [{id, kind, at, address, details}], newest first, at most 50}; TTL: none; owner: accounts/security_log.py."""
    return f"security-log:{user_id}"


def failed_sign_ins_key(user_id: str) -> str:
    """``failed-sign-ins:<user id>`` = {count, since, last_at, last_address}; TTL: 30 days from the last failure; owner: accounts/security_log.py."""
    return f"failed-sign-ins:{user_id}"


USERS_INDEX_SHARDS = 256


def users_index_shard_key(user_id: str) -> str:
    """``users-index:<00..ff>`` = {"items": [{"id": user id}]}, by the first 2 hex digits of the id's sha256; TTL: none; owner: users_index.py."""
    return f"users-index:{hashlib.sha256(user_id.encode()).hexdigest()[:2]}"


USERS_INDEX_LEGACY = "users-index"
"""``users-index`` = {"items": [{"id": user id}]}, the old single index, read only by its migration; TTL: none; owner: migrations/users_index.py."""


def users_index_shard_keys() -> list[str]:
    """Every ``users-index:<00..ff>`` shard key, in order."""
    return [f"users-index:{n:02x}" for n in range(USERS_INDEX_SHARDS)]


# -- boards and tasks --------------------------------------------------------------------------------------------


def board_key(board_id: str) -> str:
    """``board:<board id>`` = {name, members with roles, closing (since when)/deleted while deleted}; TTL: none; owner: boards/store.py."""
    return f"board:{board_id}"


def memberships_key(user_id: str) -> str:
    """``boards-of:<user id>`` = {"boards": {<board id>: {"role", "name"}}}; TTL: none; owner: boards/store.py."""
    return f"boards-of:{user_id}"


def feed_key(board_id: str) -> str:
    """``board-feed:<board id>`` = {"seq": n, "items": [newest first, at most FEED_LIMIT]}; TTL: none; owner: boards/feed.py."""
    return f"board-feed:{board_id}"


def task_key(task_id: str) -> str:
    """``task:<task id>`` = the task document with ``outbox`` (its unhandled event ids), ``comments`` (its comment ids, newest first), ``deleted`` when a tombstone (``purging`` once the sweep purges it); TTL: none (UNDO_SECONDS once taken off a deleted board; GONE_TTL_SECONDS once purged); owner: tasks/store.py."""
    return f"task:{task_id}"


def task_id_of(key: str) -> str:
    """The task id in a ``task:<task id>`` key."""
    return key.removeprefix("task:")


def index_key(board_id: str) -> str:
    """``tasks-of:<board id>`` = {"ids": [newest first], "rows": {<task id>: row}}; TTL: none; owner: tasks/index.py."""
    return f"tasks-of:{board_id}"


def outbox_key(event_id: str) -> str:
    """``outbox:<event id>`` = the event, stored with its change until handled; TTL: 30 days; owner: tasks/store.py."""
    return f"outbox:{event_id}"


def event_id_of(key: str) -> str:
    """The event id in an ``outbox:<event id>`` key."""
    return key.removeprefix("outbox:")


PENDING_BOARDS = "outbox-pending-boards"
"""``outbox-pending-boards`` = {"items": [{"id": board id, "mark"}]}: boards the relay must go through; TTL: none; owner: tasks/relay_marks.py."""

PENDING_BOARDS_LEGACY = "outbox-pending-users"
"""``outbox-pending-users`` = the same list under its old name, read only by its migration; TTL: none; owner: migrations/pending_boards.py."""


def history_key(task_id: str) -> str:
    """``activity:<task id>`` = {"items": [history entries, newest first]}; TTL: none (UNDO_SECONDS when orphaned; {"items": []} for GONE_TTL_SECONDS once its task is gone); owner: activity.py."""
    return f"activity:{task_id}"


def watchers_key(task_id: str) -> str:
    """``watchers:<task id>`` = {"users": [user ids]}, absent: its creator alone; TTL: none (GONE_TTL_SECONDS once its task is gone); owner: boards/followers.py."""
    return f"watchers:{task_id}"


def comment_key(task_id: str, comment_id: str) -> str:
    """``comment:<task id>:<comment id>`` = {id, task_id, author_id, author, text, mentions, created_at, edited_at, revision} or {id, deleted} once deleted; TTL: none (DELETED_TTL_SECONDS, a day, once deleted; {id, deleted} for GONE_TTL_SECONDS once its task is gone); owner: comments/service.py."""
    return f"comment:{task_id}:{comment_id}"


GONE_TTL_SECONDS = 86400
"""How long a gone task's document and remains keep their "gone" values (``task_remains_gone``): longer than any
request or event handling that read them before they went can still be writing. On Redis a deleted key is no
fence — an ETag-guarded write to a missing key succeeds (components-contrib state/redis ``setDefaultQuery``:
``not etag`` → HSET) — so what such a writer could still write is overwritten, never deleted."""


def task_remains_gone(task_id: str, comment_ids: list[str]) -> list[tuple[str, dict]]:
    """What a task leaves beside its document (history, overdue marker, watchers, comments), each with the
    value it is overwritten with when the task goes (read as empty, expiring after ``GONE_TTL_SECONDS``)."""
    return [(history_key(task_id), {"items": []}), (overdue_marker_key(task_id), {}),
            (watchers_key(task_id), {"users": []}),
            *((comment_key(task_id, cid), {"id": cid, "deleted": True}) for cid in comment_ids)]


def inbox_key(user_id: str) -> str:
    """``inbox:<user id>`` = {"items": [newest entries], archive counters}; TTL: none; owner: notifications/inbox.py."""
    return f"inbox:{user_id}"


def inbox_archive_key(user_id: str) -> str:
    """``inbox-archive:<user id>`` = {"items": [older entries]}; TTL: none; owner: notifications/inbox.py."""
    return f"inbox-archive:{user_id}"


DEAD_LETTERS = "dead-letters"
"""``dead-letters`` = {"items": [dead-lettered CloudEvents, newest first, at most 500]}; TTL: none; owner: dead_letters.py."""


# -- my tasks and the calendar feed -----------------------------------------------------------------------------


def my_tasks_key(user_id: str) -> str:
    """``my-tasks:<user id>`` = {"rows": {<task id>: [board id, list row or tombstone row, {z, s, a}]}, "more": bool}, at most MY_TASKS_MAX_BYTES; TTL: none; owner: my_tasks/index.py."""
    return f"my-tasks:{user_id}"


def calendar_feed_key(digest: str) -> str:
    """``calendar:<sha256 of the feed secret>`` = {user_id, board_id (None: every board), created_at}; TTL: none (deleted when revoked); owner: calendar_feed/feeds.py."""
    return f"calendar:{digest}"


def calendars_of_key(user_id: str) -> str:
    """``calendars-of:<user id>`` = {"items": [{id, secret, board_id, board_name, created_at}]}; TTL: none; owner: calendar_feed/feeds.py."""
    return f"calendars-of:{user_id}"


# -- background work ---------------------------------------------------------------------------------------------


def processed_key(stream: str, event_id: str) -> str:
    """``processed:<stream>:<event id>`` = {"at": event time}, a record never read to skip; TTL: IDEMPOTENCY_TTL_SECONDS (a day); owner: background/task_events.py."""
    return f"processed:{stream}:{event_id}"


def overdue_marker_key(task_id: str) -> str:
    """``overdue-alerted:<task id>`` = {"due_at": the due time alerted}; TTL: none ({} for GONE_TTL_SECONDS once its task is gone); owner: background/overdue.py."""
    return f"overdue-alerted:{task_id}"


def digest_next_key(user_id: str) -> str:
    """``digest-next:<user id>`` = {"due": the next digest's time}; TTL: 2 days past it; owner: background/digests.py."""
    return f"digest-next:{user_id}"


HORIZON_BUCKET_SHARDS = 256


def horizon_bucket_key(day: date, job_name: str) -> str:
    """``jobs-later:<YYYY-MM-DD>:<00..ff>`` = {"items": [{id, kind, user_id, task_id, board_id}]}; TTL: none, deleted when synced; owner: background/horizon.py."""
    return f"jobs-later:{day.isoformat()}:{hashlib.sha256(job_name.encode()).hexdigest()[:2]}"


def horizon_bucket_keys(day: date) -> list[str]:
    """Every ``jobs-later:<day>:<00..ff>`` shard key of ``day``, in order."""
    return [f"jobs-later:{day.isoformat()}:{n:02x}" for n in range(HORIZON_BUCKET_SHARDS)]


HORIZON_DONE = "jobs-horizon:done"
"""``jobs-horizon:done`` = {"day": "YYYY-MM-DD"}, the last day whose buckets were all synced; TTL: none; owner: background/horizon.py."""

SWEEP_CURSOR = "sweep-cursor"
"""``sweep-cursor`` = {"shard": n, "after": user id}, where the sweep's next page starts; TTL: none; owner: background/sweep.py."""


def lease_key(name: str) -> str:
    """``lease:<name>`` = {host, pid, at, expires_at}; TTL: the lease's seconds; owner: background/leases.py."""
    return f"lease:{name}"


def job_fired_key(job_name: str) -> str:
    """``job-fired:<job name>`` = {"name", "data"}, a probe job fired; TTL: 1 hour; owner: background/probe.py."""
    return f"job-fired:{job_name}"


# -- notification-service (its own app-id prefix) ----------------------------------------------------------------


def notification_key(notification_id: str) -> str:
    """``notification:<id>`` = {...the notification, "status": "claimed", claimed_at, claim}; TTL: CLAIM_TTL_SECONDS (31 days); owner: notification_service/delivery.py."""
    return f"notification:{notification_id}"


def notification_done_key(notification_id: str) -> str:
    """``notification-done:<id>`` = {"status": delivered | sent}; TTL: RECORD_TTL_SECONDS (30 days); owner: notification_service/delivery.py."""
    return f"notification-done:{notification_id}"
