"""Known open-redirect bypass payloads for a ``next`` parameter, and how a browser reads a Location header."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urljoin, urlsplit

EVIL = "evil.example"
BYPASS_PAYLOADS = [
    # scheme-relative and extra slashes
    f"//{EVIL}", f"//{EVIL}/", f"///{EVIL}", f"////{EVIL}/", f"//{EVIL}:80/tasks", f"//{EVIL}%2f..",
    f"//localhost@{EVIL}", f"//{EVIL}\\@localhost", f"/.//{EVIL}", f"/..//{EVIL}", f"/../\\{EVIL}",
    # backslashes (a browser reads "\" as "/")
    f"/\\{EVIL}", f"\\\\{EVIL}", f"/\\/{EVIL}", f"\\/{EVIL}", f"/\\\\{EVIL}", f"\\{EVIL}",
    # control and whitespace characters a browser strips or drops
    f"/\t/{EVIL}", f"\t//{EVIL}", f"/\n/{EVIL}", f"/\r/{EVIL}", f" //{EVIL}", f"\x00//{EVIL}", f"/\x00/{EVIL}",
    f"/\x0b/{EVIL}", f"/\x0c/{EVIL}", f"/\x7f/{EVIL}", f"\x1f//{EVIL}", "/\r\nSet-Cookie: pwned=1",
    f"/\r\nLocation: //{EVIL}", f"/%0d%0aLocation:%20//{EVIL}",
    # absolute URLs and other schemes
    f"https://{EVIL}", f"http://{EVIL}/", f"HTTPS://{EVIL}", f"https:{EVIL}", f"http:{EVIL}", f"https:/{EVIL}",
    f"http:/\\/{EVIL}", f"https:\\\\{EVIL}", f"http://localhost@{EVIL}", f"https://localhost.{EVIL}",
    f"ftp://{EVIL}", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "/javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
    # percent-encoded slashes and backslashes (decoded by a later hop)
    f"/%2f%2f{EVIL}", f"/%2F%2F{EVIL}", f"%2f%2f{EVIL}", f"/%5c{EVIL}", f"/%5C{EVIL}", f"/%252f%252f{EVIL}",
    f"/%09/{EVIL}", f"/%2f/{EVIL}", f"/%5c%5c{EVIL}", f"%5c%5c{EVIL}",
    # Unicode tricks
    f"/\u3000/{EVIL}", f"/\u00a0//{EVIL}", f"\u200b//{EVIL}", f"/\u2028//{EVIL}", f"/\u202e/{EVIL}",
    f"/\uff0f{EVIL}", f"/\uff3c{EVIL}", "//evil\u3002example", "//\u24d4\u24e5\u24d8\u24db.example",
    f"/\ufeff/{EVIL}", f"/\u0085/{EVIL}", f"/\ufffd/{EVIL}", "/\u00e9t\u00e9",
    # not paths at all
    EVIL, f"{EVIL}/", f"@{EVIL}", "", ".", "tasks",
]

_STRIPPED = "".join(chr(c) for c in range(0x21))  # C0 controls and space: trimmed at both ends
_SPECIAL = ("http", "https", "ws", "wss", "ftp")


def browser_resolve(base: str, location: str) -> SplitResult:
    """Where a browser goes with ``location`` from ``base`` (the WHATWG URL rules that matter for redirects).

    Trims C0 controls and spaces, drops tabs and newlines, reads "\\" as "/" and
    "https:host" as "https://host" (the stricter reading of a special scheme).
    """
    cleaned = re.sub("[\t\n\r]", "", location.strip(_STRIPPED)).replace("\\", "/")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):/*(.*)$", cleaned)
    if scheme and scheme.group(1).lower() in _SPECIAL:
        cleaned = f"{scheme.group(1).lower()}://{scheme.group(2)}"
    return urlsplit(urljoin(base, cleaned))
