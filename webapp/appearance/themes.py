"""The person's colour scheme, kept on ``user:<id>`` as ``theme`` and in the signed session for every page.

"system" follows the browser's ``prefers-color-scheme``; "light" and "dark" override it (``static/style.css``
reads ``data-theme`` on the root element).
"""

from __future__ import annotations

from ..dapr_gateway import NotFound
from ..keys import user_key
from ..sidecar import gateway, retry_on_conflict

THEMES = (("system", "As my system"), ("light", "Light"), ("dark", "Dark"))
DEFAULT = "system"


def valid(theme: str | None) -> str:
    """``theme`` if it is one of ``THEMES``, else the default."""
    return theme if theme in dict(THEMES) else DEFAULT


def set_theme(user_id: str, theme: str) -> None:
    """Store the person's theme on ``user:<id>``; ``NotFound`` without an account, ``Conflict`` if it kept
    changing."""
    def attempt() -> None:
        item = gateway().get(user_key(user_id))
        if not item.exists:
            raise NotFound(item.key)
        gateway().save(item.key, {**item.value, "theme": valid(theme)}, etag=item.etag)

    retry_on_conflict(attempt, "theme")
