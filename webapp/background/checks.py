"""The shape checks of what the sidecar delivers: a field that is missing or malformed can never succeed."""

from __future__ import annotations

from datetime import datetime


class Malformed(ValueError):
    """The event or job cannot be processed, now or ever: an event goes to the dead-letter topic, a job is ignored."""


def require(data: dict, *names: str) -> None:
    """Each of ``names`` is a non-empty string; ``Malformed`` otherwise."""
    missing = [n for n in names if not isinstance(data.get(n), str) or not data[n].strip()]
    if missing:
        raise Malformed(f"missing or not text: {', '.join(missing)}")


def require_time(data: dict, name: str, optional: bool = False) -> None:
    """``data[name]`` is an ISO 8601 date-time with an offset (absent too, if ``optional``); ``Malformed``
    otherwise."""
    value = data.get(name)
    if value is None and optional:
        return
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Malformed(f"{name} is not an ISO 8601 date-time: {str(value)[:40]!r}") from None
    if parsed.tzinfo is None:
        raise Malformed(f"{name} has no UTC offset")
