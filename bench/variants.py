"""Benchmark-only WSGI app: the create and list data paths three ways, to compare like with like.

NOT part of Taskboard, never imported by webapp/. bench/run.py serves it under
gunicorn with the app's own gunicorn.conf.py (same workers and threads) beside
the stack, talking to the *taskboard* sidecar (so keys get the same
``taskboard||`` prefix) and to the stack's Redis.

The create path mirrors webapp/tasks/store.py as of this writing (outbox in the
task document): (1) read the user's index; (2) one transaction: the task
document with its task.created event in ``outbox`` + the index (ETag-guarded);
then the flush: (3) read the task, (4) publish the event on task-events,
(5) save the task with an empty outbox (ETag-guarded, first-write).

    POST /create/percall?user=U   the seeds' pattern: a new DaprClient() per request
                                  (health check on /v1.0/healthz/outbound + a new gRPC channel), then 1–5
    POST /create/reused?user=U    the same with one DaprClient per worker process (what webapp does)
    POST /create/redis?user=U     the same Redis commands Dapr's Redis components run, from redis-py:
                                  HGETALL; MULTI, EVAL <Dapr's set script> ×2, EXEC; HGETALL;
                                  XADD task-events MAXLEN ~ 100000 * data <CloudEvent> metadata <json>;
                                  EVAL <set script> with the ETag (first-write)
    GET  /list/reused?user=U      the app's listing data path through the sidecar: get the index, pick the
                                  first page (20 rows, most recently updated), bulk get those tasks
    GET  /list/redis?user=U       the same with redis-py: HGETALL index, then HGETALL of each page task
                                  (Dapr runs those one per key, 16 in parallel; here one pipeline)

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
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions

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


def with_outbox(task: dict, events: list[dict]) -> dict:
    """The stored document: the task plus its unpublished events."""
    return {**task, "outbox": events}


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
    task = new_task(user_id)
    event = task_event(task, "1")
    for _ in range(INDEX_RETRIES):
        index = client.get_state(STATE_STORE, f"tasks-of:{user_id}")
        try:
            client.execute_state_transaction(STATE_STORE, [
                TransactionalStateOperation(key=f"task:{task['id']}", data=json.dumps(with_outbox(task, [event])),
                                            operation_type=TransactionOperationType.upsert),
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
    # the flush: read, publish, clear the outbox (ETag-guarded)
    stored = client.get_state(STATE_STORE, f"task:{task['id']}")
    document = json.loads(stored.data)
    for pending in document["outbox"]:
        client.publish_event(PUBSUB, TOPIC, json.dumps(pending), data_content_type="application/json",
                             publish_metadata=publish_metadata(pending))
    client.save_state(STATE_STORE, f"task:{task['id']}", json.dumps({**document, "outbox": []}), etag=stored.etag,
                      options=StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong))
    return task["id"]


def dapr_list(client, user_id: str) -> int:
    index = client.get_state(STATE_STORE, f"tasks-of:{user_id}")
    ids = first_page(json.loads(index.data or "null"))
    if not ids:
        return 0
    resp = client.get_bulk_state(STATE_STORE, [f"task:{i}" for i in ids], parallelism=16)
    tasks = [json.loads(it.data) for it in resp.items if it.data]
    return sum(1 for t in tasks if t.get("owner") == user_id)


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
    import redis
    r = redis_conn()
    task = new_task(user_id)
    event = task_event(task, "1")
    task_key = key(f"task:{task['id']}")
    for _ in range(INDEX_RETRIES):
        data, version = _hash_value(r.hgetall(key(f"tasks-of:{user_id}")))
        pipe = r.pipeline(transaction=True)  # MULTI ... EXEC, like Dapr's TxPipeline
        pipe.execute_command("EVAL", SET_SCRIPT, 1, task_key, 0, json.dumps(with_outbox(task, [event])))
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
    data, version = _hash_value(r.hgetall(task_key))
    document = json.loads(data)
    for pending in document["outbox"]:
        r.execute_command("XADD", TOPIC, "MAXLEN", "~", MAXLEN_APPROX, "*",
                          "data", cloud_event(pending), "metadata", json.dumps(publish_metadata(pending)))
    # Dapr's Set with an ETag and first-write concurrency: ARGV = version, data, "0"
    r.execute_command("EVAL", SET_SCRIPT, 1, task_key, int(version), json.dumps({**document, "outbox": []}), 0)
    return task["id"]


def redis_list(user_id: str) -> int:
    r = redis_conn()
    data, _ = _hash_value(r.hgetall(key(f"tasks-of:{user_id}")))
    ids = first_page(json.loads(data or "null"))
    if not ids:
        return 0
    pipe = r.pipeline(transaction=False)
    for i in ids:
        pipe.hgetall(key(f"task:{i}"))
    tasks = [json.loads(d) for d, _ in map(_hash_value, pipe.execute()) if d]
    return sum(1 for t in tasks if t.get("owner") == user_id)


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
