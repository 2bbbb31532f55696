"""The sidecar dies right after a change's commit point: the change is answered as stored, and its row follows.

The row write and the relay's mark both fail then (the sidecar is gone), so nothing would repair the board's
index until the sweep's slow walk: the process holds the mark with the events it could not publish and makes
it once the sidecar answers again, and the relay (every 10 s) repairs the row from the document.
"""

from __future__ import annotations

import time
import uuid

from webapp.dapr_gateway import Unavailable
from webapp.sidecar import gateway
from webapp.tasks import service, store
from webapp.tasks.model import TaskFields

REPAIRED_WITHIN_SECONDS = 60  # the relay runs every 10 s; the sweep's walk (every 5 min) must not be needed


def test_a_change_whose_row_and_mark_failed_gets_its_row_once_the_sidecar_is_back(app, monkeypatch):
    user = f"u-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        task = service.create(user, TaskFields(title="before"))
        gw_type = type(gateway())
        down = {"now": False}
        real_commit = store._commit

        def commit_then_die(*args, **kwargs):
            real_commit(*args, **kwargs)
            down["now"] = True

        def unless_down(real):
            def call(self, *args, **kwargs):
                if down["now"]:
                    raise Unavailable("the sidecar is gone")
                return real(self, *args, **kwargs)
            return call
        monkeypatch.setattr(store, "_commit", commit_then_die)
        for name in ("get", "get_many", "save", "publish", "transact"):
            if hasattr(gw_type, name):
                monkeypatch.setattr(gw_type, name, unless_down(getattr(gw_type, name)))
        changed = service.update(user, task.id, task.version, TaskFields(title="after"))
        down["now"] = False  # the sidecar is back
        monkeypatch.undo()
        assert changed.title == "after"
        deadline = time.monotonic() + REPAIRED_WITHIN_SECONDS
        while time.monotonic() < deadline:
            row = ((gateway().get(store.index_key(user)).value or {}).get("rows") or {}).get(task.id)
            if row and row[0] == "after":
                break
            time.sleep(1)
        assert row and row[0] == "after", f"the board's row still shows {row} {REPAIRED_WITHIN_SECONDS} s later"
