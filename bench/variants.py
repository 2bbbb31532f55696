"""Benchmark-only WSGI app: the create and list data paths three ways, to compare like with like.

NOT part of Taskboard, never imported by webapp/. bench/run.py serves it under
gunicorn with the app's own gunicorn.conf.py (same workers and threads) beside
the stack, talking to the *taskboard* sidecar (so keys get the same
``taskboard||`` prefix) and to the stack's Redis.

The create path mirrors webapp/tasks/store.py after issue 17 (3 sidecar calls):
(1) read the board's index (with its ETag); (2) one transaction: the task document
(its ``outbox`` lists the pending event ids), the index with the task's row
(ETag-guarded) and ``outbox:<event id>`` = the event (ttlInSeconds 30 days);
(3) publish the event on task-events. No read-back, no outbox-clearing save (the
event handler deletes ``outbox:<event id>`` later). The list data path mirrors the
list page without search text: ONE bulk get of the index and the inbox head, the
page (20 rows, most recently updated) picked from the index rows alone.

    POST /create/percall?user=U   the seeds' pattern: a new DaprClient() per request
                                  (health check on /v1.0/healthz/outbound + a new gRPC channel), then 1–3
    POST /create/reused?user=U    the same with one DaprClient per worker process (what webapp does)
    POST /create/redis?user=U     the same Redis commands Dapr's Redis components run, from redis-py:
                                  HGETALL; MULTI, EVAL <Dapr's set script> ×3 (+ EXPIRE of the outbox
                                  entry), EXEC; XADD task-events MAXLEN ~ 100000 * data <CloudEvent> metadata <json>
    GET  /list/reused?user=U      through the sidecar: one bulk get of tasks-of:U and inbox:U, the first page
                                  picked from the index rows, the unread count from the inbox head
    GET  /list/redis?user=U       the same with redis-py: HGETALL of both in one pipeline

Each answers JSON; a create answers 201 with the task id, a list 200 with the count.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs

# Imported when a worker loads the app (after gunicorn forks; no connection is made here),
# so the first requests of a load point do not wait for the SDK's import.
from dapr.clients import DaprClient
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType

APP_ID = "taskboard"
STATE_STORE = os.environ.get("BENCH_STATE_STORE", "statestore")
PUBSUB = os.environ.get("BENCH_PUBSUB", "pubsub")
TOPIC = os.environ.get("BENCH_TOPIC", "task-events")
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6379"))
MAXLEN_APPROX = 100000  # components/pubsub.yaml maxLenApprox
INDEX_RETRIES = 8

# Dapr's Redis state store, components-contrib v1.18 state/redis/redis.go (setDefaultQuery).
SET_SCRIPT = """
	local etag = redis.pcall("HGET", KEYS[1], "version");
	if type(etag) == "table" then
	  redis.call("DEL", KEYS[1]);
	end;
	local fwr = redis.pcall("HGET", KEYS[1], "first-write");
	if not etag or type(etag)=="table" or etag == "" or etag == ARGV[1] or (not fwr and ARGV[1] == "0") then
	  redis.call("HSET", KEYS[1], "data", ARGV[2]);
	  if ARGV[3] == "0" then
	    redis.call("HSET", KEYS[1], "first-write", 0);
	  end;
	  return redis.call("HINCRBY", KEYS[1], "version", 1)
	else
	  return error("failed to set key " .. KEYS[1])
	end"""


def key(name: str) -> str:
    return f"{APP_ID}||{name}"


def new_task(user_id: str) -> dict:
    now = datetime.now(timezone.utc).isoformat()
    return {"id": uuid.uuid4().hex, "owner": user_id, "title": "Benchmark task", "description": "",
            "status": "pending", "priority": "medium", "tags": [], "due_at": None, "remind_at": None,
            "recurrence": "none", "created_at": now, "updated_at": now, "completed_at": None,
            "series_id": None, "revision": 1}


PAGE = 20  # webapp's TASKS_PER_PAGE


ROW_FIELDS = ("title", "status", "priority", "tags", "due_at", "created_at", "updated_at", "revision")


def row_of(task: dict) -> list:
    """The task's row in its owner's index: an array (webapp/tasks/rows.py Summary.to_row)."""
    return [task[k] for k in ROW_FIELDS]


def indexed(index: dict | None, task: dict) -> dict:
    """The index with ``task`` added first."""
    index = index or {}
    return {"ids": [task["id"], *(i for i in index.get("ids", []) if i != task["id"])],
            "rows": {**(index.get("rows") or {}), task["id"]: row_of(task)}}


def first_page(index: dict | None) -> list[str]:
    """The ids of the list's first page: live rows, most recently updated first."""
    rows = (index or {}).get("rows") or {}
    updated = ROW_FIELDS.index("updated_at")
    live = [(row[updated], i) for i, row in rows.items() if isinstance(row, list)]  # not tombstones
    return [i for _, i in sorted(live, reverse=True)[:PAGE]]


def task_event(task: dict, version: str | None) -> dict:
    """The same data webapp/events.py builds for task.created."""
    return {"event_id": uuid.uuid4().hex, "type": "task.created", "task_id": task["id"],
            "user_id": task["owner"], "title": task["title"], "status": task["status"],
            "priority": task["priority"], "due_at": None, "recurrence": "none",
            "timestamp": datetime.now(timezone.utc).isoformat(), "version": version, "changes": []}


def with_outbox(task: dict, events: list) -> dict:
    """The stored document: the task plus its unpublished events (or their ids)."""
    return {**task, "outbox": events}


OUTBOX_TTL = {"ttlInSeconds": "2592000"}  # 30 days: the event handler deletes the entry long before


def create3_items(task: dict, event: dict) -> list[tuple[str, dict, dict | None]]:
    """(key, value, metadata) of the create's upserts besides the index: the task (its ``outbox`` lists the
    pending event ids) and ``outbox:<event id>`` = the event."""
    return [(f"task:{task['id']}", with_outbox(task, [event["event_id"]]), None),
            (f"outbox:{event['event_id']}", event, OUTBOX_TTL)]


def unread(inbox: dict | None) -> int:
    """The unread badge from the inbox head (webapp/notifications/inbox.py keeps it there)."""
    items = (inbox or {}).get("items") or []
    return sum(1 for i in items if not i.get("read")) + int((inbox or {}).get("archive_unread", 0))


def publish_metadata(event: dict) -> dict[str, str]:
    return {"user_id": event["user_id"], "cloudevent.id": event["event_id"],
            "cloudevent.type": event["type"], "cloudevent.source": "taskboard"}


class IndexConflict(Exception):
    pass


# -- through the Dapr SDK ------------------------------------------------------

_client = None
_client_pid = None
_client_lock = threading.Lock()


def reused_client():
    """One DaprClient per worker process, created after the fork (like webapp's gateway)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _client_lock:
            if _client is None or _client_pid != os.getpid():
                _client, _client_pid = DaprClient(), os.getpid()
    return _client


def dapr_create(client, user_id: str) -> str:
    """The 3-call create through the SDK: get the index; one transaction; publish."""
    task = new_task(user_id)
    event = task_event(task, "1")
    for _ in range(INDEX_RETRIES):
        index = client.get_state(STATE_STORE, f"tasks-of:{user_id}")
        try:
            client.execute_state_transaction(STATE_STORE, [
                *(TransactionalStateOperation(key=k, data=json.dumps(v), metadata=m,
                                              operation_type=TransactionOperationType.upsert)
                  for k, v, m in create3_items(task, event)),
                TransactionalStateOperation(key=f"tasks-of:{user_id}",
                                            data=json.dumps(indexed(json.loads(index.data or "null"), task)),
                                            etag=index.etag or None,
                                            operation_type=TransactionOperationType.upsert),
            ])
        except Exception as err:  # ETag mismatch inside a transaction: INTERNAL / "failed to set key"
            if "failed to set key" in str(err):
                continue
            raise
        break
    else:
        raise IndexConflict(user_id)
    client.publish_event(PUBSUB, TOPIC, json.dumps(event), data_content_type="application/json",
                         publish_metadata=publish_metadata(event))
    return task["id"]


def dapr_list(client, user_id: str) -> int:
    """The list page's data without search: one bulk get of the index and the inbox head."""
    resp = client.get_bulk_state(STATE_STORE, [f"tasks-of:{user_id}", f"inbox:{user_id}"], parallelism=2)
    data = {it.key: json.loads(it.data) if it.data else None for it in resp.items}
    unread(data.get(f"inbox:{user_id}"))
    return len(first_page(data.get(f"tasks-of:{user_id}")))


# -- straight to Redis ---------------------------------------------------------

_pool = None
_pool_pid = None


def redis_conn():
    global _pool, _pool_pid
    import redis
    if _pool is None or _pool_pid != os.getpid():
        _pool, _pool_pid = redis.ConnectionPool(host="127.0.0.1", port=REDIS_PORT, max_connections=64), os.getpid()
    return redis.Redis(connection_pool=_pool)


def _hash_value(raw: dict) -> tuple[str | None, str | None]:
    """(data, version) of a Dapr-format hash, as Dapr's getDefault reads it."""
    if not raw:
        return None, None
    return raw.get(b"data", b"").decode(), raw.get(b"version", b"").decode()


def cloud_event(event: dict) -> bytes:
    """The envelope daprd wraps a published JSON payload in."""
    return json.dumps({
        "id": event["event_id"], "source": "taskboard", "type": event["type"], "specversion": "1.0",
        "datacontenttype": "application/json", "data": event, "topic": TOPIC, "pubsubname": PUBSUB,
        "time": datetime.now(timezone.utc).isoformat(), "traceid": "", "traceparent": "", "tracestate": "",
    }).encode()


def redis_create(user_id: str) -> str:
    """The commands Dapr's Redis components run for the 3-call create."""
    import redis
    r = redis_conn()
    task = new_task(user_id)
    event = task_event(task, "1")
    for _ in range(INDEX_RETRIES):
        data, version = _hash_value(r.hgetall(key(f"tasks-of:{user_id}")))
        pipe = r.pipeline(transaction=True)  # MULTI ... EXEC, like Dapr's TxPipeline
        for k, value, metadata in create3_items(task, event):
            pipe.execute_command("EVAL", SET_SCRIPT, 1, key(k), 0, json.dumps(value))
            if metadata:
                pipe.execute_command("EXPIRE", key(k), int(metadata["ttlInSeconds"]))
        pipe.execute_command("EVAL", SET_SCRIPT, 1, key(f"tasks-of:{user_id}"), int(version or 0),
                             json.dumps(indexed(json.loads(data or "null"), task)))
        try:
            pipe.execute()
        except redis.ResponseError as err:
            if "failed to set key" in str(err):
                continue
            raise
        break
    else:
        raise IndexConflict(user_id)
    r.execute_command("XADD", TOPIC, "MAXLEN", "~", MAXLEN_APPROX, "*",
                      "data", cloud_event(event), "metadata", json.dumps(publish_metadata(event)))
    return task["id"]


def redis_list(user_id: str) -> int:
    """The same list data with redis-py: HGETALL of the index and the inbox head, pipelined."""
    pipe = redis_conn().pipeline(transaction=False)
    pipe.hgetall(key(f"tasks-of:{user_id}"))
    pipe.hgetall(key(f"inbox:{user_id}"))
    (index, _), (inbox, _) = map(_hash_value, pipe.execute())
    unread(json.loads(inbox) if inbox else None)
    return len(first_page(json.loads(index or "null")))


# -- WSGI ------------------------------------------------------------------------

def _reply(start_response, status: str, body: dict):
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    user = (parse_qs(environ.get("QUERY_STRING", "")).get("user") or [""])[0]
    if path == "/healthz":
        return _reply(start_response, "200 OK", {"status": "ok"})
    if not user:
        return _reply(start_response, "400 Bad Request", {"error": "user missing"})
    try:
        if method == "POST" and path == "/create/percall":
            with DaprClient() as client:  # the seeds' pattern, on purpose
                task_id = dapr_create(client, user)
            return _reply(start_response, "201 Created", {"id": task_id})
        if method == "POST" and path == "/create/reused":
            return _reply(start_response, "201 Created", {"id": dapr_create(reused_client(), user)})
        if method == "POST" and path == "/create/redis":
            return _reply(start_response, "201 Created", {"id": redis_create(user)})
        if method == "GET" and path == "/list/reused":
            return _reply(start_response, "200 OK", {"count": dapr_list(reused_client(), user)})
        if method == "GET" and path == "/list/redis":
            return _reply(start_response, "200 OK", {"count": redis_list(user)})
    except IndexConflict:
        return _reply(start_response, "409 Conflict", {"error": "index kept changing"})
    except Exception as err:  # a benchmark endpoint: report, never hide
        return _reply(start_response, "503 Service Unavailable", {"error": type(err).__name__, "message": str(err)[:300]})
    return _reply(start_response, "404 Not Found", {"error": "no such route"})
