"""The apps' Flask decides once per function whether a hook or view must be wrapped to run synchronously."""

from __future__ import annotations

from webapp.base import TaskboardFlask


def test_a_sync_function_is_itself_and_an_async_one_is_wrapped_each_decided_once(monkeypatch):
    app = TaskboardFlask(__name__)
    wrapped = []
    monkeypatch.setattr(app, "async_to_sync", lambda func: wrapped.append(func) or ("sync of", func))

    def hook():
        return None

    async def async_view():
        return None

    assert app.ensure_sync(hook) is hook and app.ensure_sync(hook) is hook
    assert app.ensure_sync(async_view) == ("sync of", async_view)
    assert app.ensure_sync(async_view) == ("sync of", async_view)
    assert wrapped == [async_view]  # wrapped once, then kept
