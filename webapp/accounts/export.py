"""Export my data: a zip archive of JSON files, built in memory from Dapr state (read only).

Format (``format_version`` 1), every file UTF-8 JSON:

* ``manifest.json`` — ``{"format": "taskboard-export", "format_version": 1, "exported_at": <ISO 8601 UTC>,
  "account": {"id", "username", "timezone", "created_at", "digest_time"}, "files": [<names>]}``
* ``account.json`` — ``{"single_sign_on": [{"issuer", "linked_at"}]}``: the identity providers that sign me in.
* ``tasks.json`` — ``{"tasks": [<task>, …]}``: every live task on my personal board, and every live task on a
  shared board that I created or that is assigned to me. A task is its stored form: ``id``, ``owner`` (who
  created it), ``board_id``, ``assignee``, ``title``, ``description``, ``status``, ``priority``, ``tags``,
  ``due_at``, ``remind_at``, ``recurrence``, ``checklist``, ``created_at``, ``updated_at``, ``completed_at``
  (times ISO 8601 in UTC), ``revision`` (its version), and the bookkeeping fields the app keeps with it.
* ``boards.json`` — ``{"boards": [{"id", "name", "created_at", "members": [{"user_id", "username", "role"}],
  "task_ids": [...]}]}``: the shared boards I own, with who is on them and which tasks they hold (those tasks
  are in ``tasks.json`` too).
* ``notifications.json`` — ``{"notifications": [{"id", "kind", "text", "task_id", "created_at", "read", …}]}``
  newest first (the inbox and its archive: up to 1,000).
* ``comments.json`` — ``{"comments": [...]}``: comments I wrote (empty while the site has no comments).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone

from ..auth import users
from ..background import digests
from ..boards import model, store
from ..keys import board_key, inbox_archive_key, inbox_key, user_key
from ..sidecar import gateway
from ..tasks import store as task_store
from . import sso_accounts

FORMAT_VERSION = 1


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()


def collect(user: users.User) -> dict[str, dict]:
    """Every file of the archive as a JSON value ({file name: value}); ``Unavailable`` if the store fails."""
    record = gateway().get(user_key(user.id)).value or {}
    mine = store.memberships(user.id)
    shared = [b for b in mine if b != user.id]
    boards = {it.value["id"]: it.value for it in gateway().get_many([board_key(b) for b in shared])
              if it.exists and model.is_open(it.value)}
    tasks, owned = [], []
    for board_id in [user.id, *boards]:
        board_tasks = task_store.load_all(board_id)
        is_owner = board_id in boards and model.role_of(boards[board_id], user.id) == "owner"
        tasks += [t.to_dict() for t in board_tasks
                  if board_id == user.id or is_owner or user.id in (t.owner, t.assignee)]
        if is_owner:
            board = boards[board_id]
            owned.append({"id": board_id, "name": board["name"], "created_at": board.get("created_at"),
                          "members": [{"user_id": uid, "username": m.get("username"), "role": m.get("role")}
                                      for uid, m in (board.get("members") or {}).items()],
                          "task_ids": [t.id for t in board_tasks]})
    head, archive = gateway().get_many([inbox_key(user.id), inbox_archive_key(user.id)])
    notifications = [*(head.value or {}).get("items", []), *(archive.value or {}).get("items", [])]
    files = {
        "account.json": {"single_sign_on": [{"issuer": link["issuer"], "linked_at": link["linked_at"]}
                                            for link in sso_accounts.links_of(user.id)]},
        "tasks.json": {"tasks": tasks},
        "boards.json": {"boards": owned},
        "notifications.json": {"notifications": notifications},
        "comments.json": {"comments": []},
    }
    manifest = {"format": "taskboard-export", "format_version": FORMAT_VERSION,
                "exported_at": datetime.now(timezone.utc).isoformat(),
                "account": {"id": user.id, "username": user.username, "timezone": record.get("timezone"),
                            "created_at": record.get("created_at"),
                            "digest_time": digests.parse_time(record.get("digest_time")).strftime("%H:%M")},
                "files": ["manifest.json", *files]}
    return {"manifest.json": manifest, **files}


def archive(user: users.User) -> bytes:
    """The zip archive of ``collect(user)``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, value in collect(user).items():
            zipped.writestr(name, _json(value))
    return buffer.getvalue()
